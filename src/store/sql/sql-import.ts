import { FactumError, streamTombstonedError } from '../../core/errors.js';
import { preparedToRecorded } from '../recorded-event.js';
import type { PreparedImport } from '../bulk-import.js';
import type { SqlQueryable } from './sql-client.js';
import type { SqlEventStore, StreamRow } from './sql-event-store.js';

/**
 * One import batch on SQL, in one transaction:
 * 1. the log locked against other writers (SHARE ROW EXCLUSIVE): it waits for appends in flight
 *    and holds new ones back, so the batch can reserve a block of positions with one `setval`
 *    instead of one `nextval` per row; readers of `$all` see the lock holder and wait for the
 *    batch, as for any append;
 * 2. the touched streams' versions (no append can move them while the lock is held);
 * 3. one multi-row INSERT from arrays, soft-deleted streams brought back, inline projections.
 */
export async function importBatchSql(store: SqlEventStore, batch: PreparedImport): Promise<bigint> {
  const { s } = store.names;
  const n = batch.events.length;
  return store.client.transaction(async (tx) => {
    await tx.query(`LOCK TABLE ${s}events IN SHARE ROW EXCLUSIVE MODE`);
    const streamIds = [...new Set(batch.streamIds)];
    const { rows } = await tx.query<StreamRow>(store.streamStateSql('unnest($1::text[]) AS x(id)'), [streamIds]);
    const versions = new Map<string, number>();
    for (const row of rows) {
      if (row.tombstoned) throw streamTombstonedError(row.stream_id);
      versions.set(row.stream_id, Number(row.version));
    }
    const streamVersions = batch.streamIds.map((id) => {
      const next = (versions.get(id) ?? 0) + 1;
      versions.set(id, next);
      return next;
    });
    const reserved = await tx.query<{ last: string | number; now: Date }>(
      `SELECT setval('${s}position_seq', nextval('${s}position_seq') + $1 - 1) AS last, now() AS now`,
      [n],
    );
    const last = BigInt(reserved.rows[0]!.last);
    const first = last - BigInt(n) + 1n;
    await insertEvents(
      tx,
      `INSERT INTO ${s}events (global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version)
       SELECT $1::bigint + i.ord - 1, i.id, i.stream, i.version, i.t, i.d::jsonb, i.m::jsonb, i.v
         FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::int[])
              WITH ORDINALITY AS i(id, stream, version, t, d, m, v, ord)`,
      [
        first.toString(),
        batch.events.map((e) => e.id),
        batch.streamIds,
        streamVersions,
        batch.events.map((e) => e.type),
        batch.events.map((e) => e.dataJson),
        batch.events.map((e) => e.metadataJson),
        batch.events.map((e) => e.schemaVersion),
      ],
    );
    if (rows.some((row) => row.soft_deleted)) {
      await tx.query(`UPDATE ${s}streams SET soft_deleted = false WHERE stream_id = ANY($1::text[]) AND soft_deleted`, [streamIds]);
    }
    // Inline projections see imported events too: the read model never disagrees with the log.
    if (store.inlineHook) {
      const recordedAt = reserved.rows[0]!.now;
      await store.inlineHook(
        batch.events.map((e, i) => preparedToRecorded(e, batch.streamIds[i]!, streamVersions[i]!, first + BigInt(i), recordedAt)),
        tx,
      );
    }
    return last;
  });
}

/** Runs the insert; an event id that is already in the log is the caller's error, not the database's. */
async function insertEvents(tx: SqlQueryable, sql: string, params: unknown[]): Promise<void> {
  try {
    await tx.query(sql, params);
  } catch (error) {
    const e = error as { code?: string; constraint?: string; detail?: string };
    if (e.code === '23505' && e.constraint?.includes('event_id')) {
      throw new FactumError('IDEMPOTENCY_CONFLICT', `An imported event id is already in the log: ${e.detail ?? ''}`, { cause: error });
    }
    throw error;
  }
}
