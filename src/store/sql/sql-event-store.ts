import { ConcurrencyError, FactumError, idempotencyConflictError, streamTombstonedError } from '../../core/errors.js';
import { describeExpectedVersion, streamCategory, type AppendResult, type ExpectedVersion, type RecordedEvent } from '../../core/message.js';
import type { AllPage, ListStreamsOptions, ReadAllPageOptions, StreamInfo, StreamMetadata } from '../../core/event-store.js';
import type { PreparedEvent, StoreLimits } from '../../core/validation.js';
import { BaseEventStore, type StreamPageRequest } from '../base-event-store.js';
import { EVENT_COLUMNS, preparedToRecorded, rowToRecorded, type EventRow } from '../recorded-event.js';
import { checkExpectedVersion } from '../stream-rules.js';
import { appendChannel } from './consumer-migrations.js';
import { migrate } from './migrations.js';
import { ReadAllSafety, safeEnd } from './read-all-safety.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';
import { sqlNames, type SqlNames } from './sql-names.js';

/** Options shared by the PostgreSQL and PGlite stores. */
export interface SqlEventStoreOptions {
  /** Database schema holding factum's tables; `factum` by default. */
  schema?: string;
  limits?: Partial<StoreLimits>;
}


interface StreamRow {
  stream_id: string;
  version: string | number;
  soft_deleted: boolean;
  tombstoned: boolean;
  metadata: StreamMetadata;
}


/** Least time between two wake-up NOTIFYs of one store object (the first one is sent at once). */
const NOTIFY_SPACING_MS = 5;

/**
 * The event store on SQL: one implementation for PostgreSQL (`pg`) and PGlite. Appends are one
 * round trip to a PL/pgSQL function; reads of `$all` are gap-safe (see read-all-safety.ts).
 */
export class SqlEventStore extends BaseEventStore {
  readonly kind: string;
  readonly names: SqlNames;
  private readonly safety = new ReadAllSafety();
  private observing: Promise<unknown> = Promise.resolve();
  private notifyInFlight = false;
  private notifyAgain = false;

  constructor(
    readonly client: SqlClient,
    options: SqlEventStoreOptions = {},
  ) {
    super(options.limits);
    this.kind = client.kind;
    this.names = sqlNames(options.schema ?? 'factum');
  }

  /** Applies pending schema migrations; returns the versions it applied. */
  migrate(): Promise<number[]> {
    return migrate(this.client, this.names);
  }

  protected async appendPrepared(streamId: string, events: PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const { s } = this.names;
    const exact = typeof expected === 'number';
    let rows: Array<{ global_position: string | number; stream_version: string | number; recorded_at: Date; already: boolean }>;
    const append = (on: SqlQueryable) => on.query<(typeof rows)[number]>(
        `SELECT global_position, stream_version, recorded_at, already FROM ${s}append_events($1, $2, $3, $4, $5::uuid[], $6::text[], $7::text[], $8::text[], $9::int[])`,
        [
          streamId,
          streamCategory(streamId),
          exact ? 'exact' : expected,
          exact ? expected : null,
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => e.dataJson),
          events.map((e) => e.metadataJson),
          events.map((e) => e.schemaVersion),
        ],
      );
    const inline = this.inlineHook;
    // An inline projection's own error cancels the append and reaches the caller as it is.
    let projectionFailed: { error: unknown } | undefined;
    try {
      // One round trip, unless inline projections must run in the append's transaction.
      ({ rows } = inline
        ? await this.client.transaction(async (tx) => {
            const result = await append(tx);
            if (!result.rows[0]?.already) {
              try {
                await inline(result.rows.map((r, i) => preparedToRecorded(events[i]!, streamId, Number(r.stream_version), BigInt(r.global_position), r.recorded_at)), tx);
              } catch (error) {
                projectionFailed = { error };
                throw error;
              }
            }
            return result;
          })
        : await append(this.client));
    } catch (error) {
      if (projectionFailed) throw projectionFailed.error;
      throw this.appendError(error, streamId, expected, events.length);
    }
    const positions = rows.map((r) => BigInt(r.global_position));
    const last = rows[rows.length - 1]!;
    if (!last.already) this.wakeOtherProcesses();
    return {
      nextExpectedVersion: Number(last.stream_version),
      lastPosition: positions[positions.length - 1]!,
      positions,
      alreadyAppended: last.already,
    };
  }

  /**
   * Tells subscribers in other processes that the log grew: one NOTIFY on `appendChannel`, in its
   * own tiny transaction after the append committed, coalesced so that a burst of appends sends
   * one or two. A NOTIFY inside the append would serialise all commits on PostgreSQL's notify
   * queue lock (measured: 16 writers fell to a quarter of the raw insert rate). A lost NOTIFY only
   * costs latency: subscribers also poll.
   */
  private wakeOtherProcesses(): void {
    if (this.kind !== 'postgres') return;
    if (this.notifyInFlight) {
      this.notifyAgain = true;
      return;
    }
    this.notifyInFlight = true;
    this.client
      .query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, NULL)", [appendChannel(this.names)])
      .catch(() => undefined)
      .finally(() => {
        // Appends in the next few milliseconds share one later NOTIFY: each NOTIFY is a
        // transaction of its own, and one per append cost about a tenth of append throughput.
        setTimeout(() => {
          this.notifyInFlight = false;
          if (this.notifyAgain && !this.isClosed) {
            this.notifyAgain = false;
            this.wakeOtherProcesses();
          }
        }, NOTIFY_SPACING_MS).unref();
      });
  }

  private appendError(error: unknown, streamId: string, expected: ExpectedVersion, total: number): FactumError {
    const e = error as { code?: string; detail?: string; constraint?: string };
    const detail = parseDetail(e.detail);
    if (e.code === 'FX409') {
      return new ConcurrencyError(streamId, describeExpectedVersion(expected), Number(detail.version), Boolean(detail.exists));
    }
    if (e.code === 'FX410') return streamTombstonedError(streamId);
    if (e.code === 'FX422') return idempotencyConflictError(streamId, Number(detail.found), Number(detail.total));
    // The same event id raced into another stream at the same moment.
    if (e.code === '23505' && e.constraint?.includes('event_id')) return idempotencyConflictError(streamId, 1, total);
    return storageError('append', error);
  }

  protected async readStreamPage(streamId: string, request: StreamPageRequest): Promise<RecordedEvent[]> {
    const { s } = this.names;
    const forward = request.direction === 'forward';
    const low = forward ? request.fromVersion : request.toVersion;
    const high = forward ? request.toVersion : request.fromVersion;
    // Visibility rules (truncate-before, max count, max age) applied in SQL against the stream row.
    const { rows } = await this.run<EventRow>('readStream', this.client, `
      SELECT ${EVENT_COLUMNS} FROM ${s}events e JOIN ${s}streams st ON st.stream_id = e.stream_id
       WHERE e.stream_id = $1 AND e.stream_version BETWEEN $2 AND $3
         AND e.stream_version >= GREATEST(
               coalesce((st.metadata->>'truncateBefore')::bigint, 1),
               st.version - coalesce((st.metadata->>'maxCount')::bigint, st.version) + 1)
         AND (st.metadata->>'maxAgeSeconds' IS NULL
              OR e.recorded_at >= now() - make_interval(secs => (st.metadata->>'maxAgeSeconds')::float8))
         AND ($4::timestamptz IS NULL OR e.recorded_at <= $4)
       ORDER BY e.stream_version ${forward ? 'ASC' : 'DESC'} LIMIT $5`,
      [streamId, low, Math.min(high, Number.MAX_SAFE_INTEGER), request.asOf ?? null, request.limit],
    );
    return rows.map(rowToRecorded);
  }

  protected async readAllPageImpl(after: bigint, limit: number, filter: ReadAllPageOptions): Promise<AllPage> {
    const { s } = this.names;
    const { head, settled } = await this.observeAppenders();
    const filtered = Boolean(filter.types?.length || filter.categories?.length);

    let page: AllPage;
    if (!filtered) {
      const { rows } = await this.run<EventRow>('readAll', this.client,
        `SELECT ${EVENT_COLUMNS} FROM ${s}events e WHERE e.global_position > $1 ORDER BY e.global_position LIMIT $2`,
        [after.toString(), limit],
      );
      const events = rows.map(rowToRecorded);
      const { end, hole } = safeEnd(after, events.map((e) => e.globalPosition), settled, rows.length < limit);
      page = { events: events.filter((e) => e.globalPosition <= end), position: end, headPosition: head, ...(hole ? { waitingOn: { position: hole, pids: [] } } : {}) };
    } else {
      // Find how far is safe on positions alone (an index-only scan), then fetch matching rows below it.
      const scan = Math.max(limit * 10, 10_000);
      const positions = await this.run<{ global_position: string | number }>('readAll', this.client,
        `SELECT global_position FROM ${s}events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
        [after.toString(), scan],
      );
      const found = positions.rows.map((r) => BigInt(r.global_position));
      const { end, hole } = safeEnd(after, found, settled, found.length < scan);
      const { rows } = await this.run<EventRow>('readAll', this.client,
        `SELECT ${EVENT_COLUMNS} FROM ${s}events e
          WHERE e.global_position > $1 AND e.global_position <= $2
            AND (cardinality($3::text[]) = 0 OR e.event_type = ANY($3))
            AND (cardinality($4::text[]) = 0 OR split_part(e.stream_id, '-', 1) = ANY($4))
          ORDER BY e.global_position LIMIT $5`,
        [after.toString(), end.toString(), filter.types ?? [], filter.categories ?? [], limit],
      );
      const events = rows.map(rowToRecorded);
      const position = events.length === limit ? events[events.length - 1]!.globalPosition : end;
      page = { events, position, headPosition: head, ...(hole && position === end ? { waitingOn: { position: hole, pids: [] } } : {}) };
    }
    if (page.waitingOn) page.waitingOn = await this.describeWait(page.waitingOn.position);
    return page;
  }

  /**
   * Observes the head and the open appends, and feeds the observation to the proof. One at a
   * time per store object: the proof needs observations in the order the database made them,
   * and two readers (subscriptions) sharing this object would otherwise race, an older
   * observation arriving after a newer one and "proving" a still-open append had ended.
   * PGlite is one session that runs a transaction to its end before the next statement, so no
   * append can be open while this runs: its head is settled as read, without scanning pg_locks.
   */
  private observeAppenders(): Promise<{ head: bigint; settled: bigint }> {
    const observe = async () => {
      if (this.kind === 'pglite') {
        const head = await this.headPositionImpl();
        return { head, settled: this.safety.observe(head, []) };
      }
      const state = await this.run<{ head: string | number; appenders: string[] }>('readAll', this.client, `SELECT head, appenders FROM ${this.names.s}read_all_state()`);
      const head = BigInt(state.rows[0]!.head);
      return { head, settled: this.safety.observe(head, state.rows[0]!.appenders) };
    };
    const result = this.observing.then(observe, observe);
    this.observing = result.catch(() => undefined);
    return result;
  }

  /** Who holds the reader back, and since when: shown as lag by subscriptions and the CLI. */
  private async describeWait(position: bigint): Promise<NonNullable<AllPage['waitingOn']>> {
    const [k1, k2] = this.names.appendLock;
    const { rows } = await this.run<{ pid: number; since: Date | null }>('readAll', this.client, `
      SELECT l.pid, a.xact_start AS since FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.classid = ${k1 >>> 0}::oid AND l.objid = ${k2 >>> 0}::oid AND l.objsubid = 2
       ORDER BY a.xact_start NULLS LAST`);
    const since = rows.find((r) => r.since)?.since;
    return { position, pids: rows.map((r) => Number(r.pid)), ...(since ? { since } : {}) };
  }

  protected async headPositionImpl(): Promise<bigint> {
    const { rows } = await this.run<{ head: string | number }>('headPosition', this.client,
      `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS head FROM ${this.names.s}position_seq`);
    return BigInt(rows[0]!.head);
  }

  protected async streamInfoImpl(streamId: string): Promise<StreamInfo> {
    const { rows } = await this.run<StreamRow>('streamInfo', this.client,
      `SELECT stream_id, version, soft_deleted, tombstoned, metadata FROM ${this.names.s}streams WHERE stream_id = $1`, [streamId]);
    return toInfo(streamId, rows[0]);
  }

  protected async setStreamMetadataImpl(streamId: string, metadata: StreamMetadata): Promise<void> {
    // A stream row without events is marked deleted: it does not "exist" until its first append.
    const { rows } = await this.run<{ tombstoned: boolean }>('setStreamMetadata', this.client, `
      INSERT INTO ${this.names.s}streams AS st (stream_id, category, soft_deleted, metadata) VALUES ($1, $2, true, $3::jsonb)
      ON CONFLICT (stream_id) DO UPDATE SET metadata = CASE WHEN st.tombstoned THEN st.metadata ELSE excluded.metadata END
      RETURNING tombstoned`,
      [streamId, streamCategory(streamId), JSON.stringify(metadata)],
    );
    if (rows[0]?.tombstoned) throw streamTombstonedError(streamId);
  }

  protected async deleteStreamImpl(streamId: string, expected: ExpectedVersion, hard: boolean): Promise<void> {
    const { s } = this.names;
    await this.transaction('deleteStream', async (tx) => {
      const { rows } = await tx.query<StreamRow>(`SELECT stream_id, version, soft_deleted, tombstoned, metadata FROM ${s}streams WHERE stream_id = $1 FOR UPDATE`, [streamId]);
      const row = rows[0];
      if (row?.tombstoned) throw streamTombstonedError(streamId);
      const version = row ? Number(row.version) : 0;
      checkExpectedVersion(streamId, expected, version, row !== undefined && !row.soft_deleted);
      if (hard) {
        await tx.query(`DELETE FROM ${s}events WHERE stream_id = $1`, [streamId]);
        await tx.query(`
          INSERT INTO ${s}streams AS st (stream_id, category, version, soft_deleted, tombstoned) VALUES ($1, $2, 0, true, true)
          ON CONFLICT (stream_id) DO UPDATE SET soft_deleted = true, tombstoned = true`, [streamId, streamCategory(streamId)]);
      } else if (row) {
        await tx.query(`UPDATE ${s}streams SET soft_deleted = true, metadata = metadata || jsonb_build_object('truncateBefore', version + 1) WHERE stream_id = $1`, [streamId]);
      }
    });
  }

  protected async listStreamsImpl(options: ListStreamsOptions & { limit: number }): Promise<StreamInfo[]> {
    const { rows } = await this.run<StreamRow>('listStreams', this.client, `
      SELECT stream_id, version, soft_deleted, tombstoned, metadata FROM ${this.names.s}streams
       WHERE ($1::text IS NULL OR category = $1) AND ($2::text IS NULL OR stream_id > $2)
         AND ($3 OR (NOT soft_deleted AND NOT tombstoned))
       ORDER BY stream_id COLLATE "C" LIMIT $4`,
      [options.category ?? null, options.after ?? null, options.includeDeleted ?? false, options.limit],
    );
    return rows.map((row) => toInfo(row.stream_id, row));
  }

  protected async closeImpl(): Promise<void> {
    await this.client.close();
  }

  private async run<Row>(operation: string, on: SqlQueryable, sql: string, params?: unknown[]): Promise<{ rows: Row[] }> {
    try {
      return await on.query<Row>(sql, params);
    } catch (error) {
      throw storageError(operation, error);
    }
  }

  private async transaction<T>(operation: string, fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    try {
      return await this.client.transaction(fn);
    } catch (error) {
      if (error instanceof FactumError) throw error;
      throw storageError(operation, error);
    }
  }
}

function storageError(operation: string, error: unknown): FactumError {
  if (error instanceof FactumError) return error;
  return new FactumError('STORAGE_ERROR', `${operation} failed: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
    details: { operation, sqlState: (error as { code?: string })?.code },
  });
}

function parseDetail(detail: string | undefined): Record<string, unknown> {
  try {
    return detail ? (JSON.parse(detail) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}


function toInfo(streamId: string, row: StreamRow | undefined): StreamInfo {
  const version = row ? Number(row.version) : 0;
  return {
    streamId,
    version,
    exists: row !== undefined && !row.soft_deleted && !row.tombstoned,
    softDeleted: row !== undefined && row.soft_deleted && !row.tombstoned && version > 0,
    tombstoned: row?.tombstoned ?? false,
    metadata: row?.metadata ?? {},
  };
}
