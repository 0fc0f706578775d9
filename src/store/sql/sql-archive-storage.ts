import { FactumError } from '../../core/errors.js';
import { streamCategory } from '../../core/message.js';
import { tombstonedConflict, type ArchiveBounds, type ArchivedEvent, type ArchiveStorage, type VersionRange } from '../archive/archive-storage.js';
import { AS_TEXT } from './event-columns.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';
import type { SqlNames } from './sql-names.js';
import { storageError } from './storage-error.js';

interface RangeRow {
  id: string;
  stream_id: string;
  stream_version: string | number;
  global_position: string | number;
  event_type: string;
  data: string;
  metadata: string;
  schema_version: string | number;
  recorded_at: string;
}

interface MarkerRow {
  id: string;
  marker: string | number;
  version: string | number | null;
  tombstoned: boolean | null;
}

/**
 * `ArchiveStorage` on SQL (PostgreSQL and PGlite). Removal and restore lock the log against
 * other writers (SHARE ROW EXCLUSIVE, as deletes and imports do): appends wait for them, and
 * readers of `$all` see a writer and wait too, so no reader meets half a batch.
 */
export function sqlArchiveStorage(client: SqlClient, names: SqlNames): ArchiveStorage {
  const { s } = names;
  const run = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw storageError(operation, error);
    }
  };
  const markers = async (tx: SqlQueryable, streamIds: string[]): Promise<Map<string, { marker: number; version: number; tombstoned: boolean }>> => {
    const { rows } = await tx.query<MarkerRow>(
      `SELECT x.id, coalesce(st.archived_before, 1) AS marker, (SELECT max(e.stream_version) FROM ${s}events e WHERE e.stream_id = x.id) AS version, st.tombstoned
         FROM unnest($1::text[]) AS x(id) LEFT JOIN ${s}streams st ON st.stream_id = x.id`,
      [streamIds],
      { parsers: AS_TEXT },
    );
    // AS_TEXT: PostgreSQL sends booleans as 't'/'f', PGlite as booleans.
    return new Map(rows.map((r) => [r.id, { marker: Number(r.marker), version: Number(r.version ?? 0), tombstoned: r.tombstoned === true || (r.tombstoned as unknown) === 't' }]));
  };
  const setMarkers = (tx: SqlQueryable, streamIds: string[], values: number[]) =>
    tx.query(
      `INSERT INTO ${s}streams AS st (stream_id, category, archived_before)
       SELECT x.id, x.category, x.marker FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(id, category, marker)
       ON CONFLICT (stream_id) DO UPDATE SET archived_before = excluded.archived_before`,
      [streamIds, streamIds.map(streamCategory), values],
    );

  return {
    slowestCheckpoint: () =>
      run('archive', async () => {
        const { rows } = await client.query<{ name: string; position: string }>(`SELECT name, position::text AS position FROM ${s}checkpoints ORDER BY position, name LIMIT 1`);
        return rows[0] ? { name: rows[0].name, position: BigInt(rows[0].position) } : undefined;
      }),

    lastVersionWithin: (streamId: string, bounds: ArchiveBounds) =>
      run('archive', async () => {
        const { rows } = await client.query<{ v: string | number }>(
          `SELECT coalesce(
              (SELECT min(e.stream_version) FROM ${s}events e WHERE e.stream_id = $1
                  AND (($2::timestamptz IS NOT NULL AND e.recorded_at >= $2) OR ($3::bigint IS NOT NULL AND e.global_position > $3))) - 1,
              (SELECT max(e.stream_version) FROM ${s}events e WHERE e.stream_id = $1), 0) AS v`,
          [streamId, bounds.recordedBefore ?? null, bounds.maxPosition?.toString() ?? null],
          { parsers: AS_TEXT },
        );
        return Number(rows[0]!.v);
      }),

    readRanges: (ranges: VersionRange[], limit: number) =>
      run('archive', async () => {
        if (ranges.length === 0) return [];
        // The time as JSON text keeps the microseconds a Date would drop; data as text skips a parse.
        const { rows } = await client.query<RangeRow>(
          `SELECT e.event_id::text AS id, e.stream_id, e.stream_version, e.global_position::text AS global_position, e.event_type,
                  e.data::text AS data, e.metadata::text AS metadata, e.schema_version, to_json(e.recorded_at) #>> '{}' AS recorded_at
             FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS r(id, f, t, ord)
             CROSS JOIN LATERAL (
               SELECT * FROM ${s}events x WHERE x.stream_id = r.id AND x.stream_version BETWEEN r.f AND r.t ORDER BY x.stream_version LIMIT $4) AS e
            ORDER BY r.ord, e.stream_version LIMIT $4`,
          [ranges.map((r) => r.streamId), ranges.map((r) => r.fromVersion), ranges.map((r) => r.toVersion), limit],
          { parsers: AS_TEXT },
        );
        return rows.map(
          (r): ArchivedEvent => ({
            id: r.id,
            streamId: r.stream_id,
            streamVersion: Number(r.stream_version),
            globalPosition: String(r.global_position),
            type: r.event_type,
            data: JSON.parse(r.data) as unknown,
            metadata: JSON.parse(r.metadata) as Record<string, unknown>,
            schemaVersion: Number(r.schema_version),
            recordedAt: r.recorded_at,
          }),
        );
      }),

    removeRanges: (ranges: VersionRange[]) =>
      run('archive', () =>
        client.transaction(async (tx) => {
          await tx.query(`LOCK TABLE ${s}events IN SHARE ROW EXCLUSIVE MODE`);
          const found = await markers(tx, ranges.map((r) => r.streamId));
          const todo = ranges.filter((range) => {
            const state = found.get(range.streamId) ?? { marker: 1, version: 0 };
            if (state.marker > range.toVersion) return false;
            if (state.marker !== range.fromVersion || range.toVersion >= state.version) throw removeConflict(range, state);
            return true;
          });
          if (todo.length === 0) return 0;
          const { rows } = await tx.query<{ n: string | number }>(
            `WITH gone AS (
               DELETE FROM ${s}events e USING unnest($1::text[], $2::bigint[], $3::bigint[]) AS r(id, f, t)
                WHERE e.stream_id = r.id AND e.stream_version BETWEEN r.f AND r.t RETURNING 1)
             SELECT count(*) AS n FROM gone`,
            [todo.map((r) => r.streamId), todo.map((r) => r.fromVersion), todo.map((r) => r.toVersion)],
            { parsers: AS_TEXT },
          );
          const deleted = Number(rows[0]!.n);
          const expected = todo.reduce((sum, r) => sum + r.toVersion - r.fromVersion + 1, 0);
          // Versions are contiguous, so fewer rows means someone else removed some: undo it all.
          if (deleted !== expected) {
            throw new FactumError('ARCHIVE_CONFLICT', `Archiving expected to remove ${expected} events but found ${deleted}: the log changed under the archive`, { details: { expected, deleted } });
          }
          await setMarkers(tx, todo.map((r) => r.streamId), todo.map((r) => r.toVersion + 1));
          return deleted;
        }),
      ),

    restoreEvents: (events: ArchivedEvent[], ranges?: VersionRange[]) =>
      run('restore', () =>
        client.transaction(async (tx) => {
          await tx.query(`LOCK TABLE ${s}events IN SHARE ROW EXCLUSIVE MODE`);
          let lower: VersionRange[] = [];
          if (ranges?.length) {
            const found = await markers(tx, ranges.map((r) => r.streamId));
            lower = ranges.filter((range) => {
              const state = found.get(range.streamId);
              if (state?.tombstoned) throw tombstonedConflict(range);
              const marker = state?.marker ?? 1;
              if (marker <= range.fromVersion) return false;
              if (marker !== range.toVersion + 1) {
                throw new FactumError('ARCHIVE_CONFLICT', `Stream "${range.streamId}": versions ${range.fromVersion} to ${range.toVersion} cannot return in place while the stream is archived before ${marker} (restore the later archive first)`, { details: { ...range, archivedBefore: marker } });
              }
              return true;
            });
          }
          if (events.length === 0) return 0;
          const positions = events.map((e) => e.globalPosition);
          const ids = events.map((e) => e.id);
          // One JSON parameter rather than nine arrays: the driver escapes array elements one by
          // one in JavaScript, which cost more than the insert itself.
          const rowsJson = JSON.stringify(events.map((e) => ({ p: e.globalPosition, id: e.id, s: e.streamId, n: e.streamVersion, t: e.type, d: e.data, m: e.metadata, v: e.schemaVersion, at: e.recordedAt })));
          const { rows } = await tx.query<{ written: string | number }>(
            `WITH written AS (
               INSERT INTO ${s}events (global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version, recorded_at)
               SELECT i.p, i.id, i.s, i.n, i.t, i.d, i.m, i.v, i.at
                 FROM json_to_recordset($1::json) AS i(p bigint, id uuid, s text, n bigint, t text, d jsonb, m jsonb, v integer, at timestamptz)
               ON CONFLICT DO NOTHING RETURNING 1)
             SELECT count(*) AS written FROM written`,
            [rowsJson],
            { parsers: AS_TEXT },
          );
          const written = Number(rows[0]!.written);
          if (written < events.length) {
            // Skipped rows are fine only where the very same event already stands.
            const { rows: same } = await tx.query<{ n: string | number }>(
              `SELECT count(*) AS n FROM unnest($1::bigint[], $2::uuid[]) AS x(p, id) JOIN ${s}events e ON e.global_position = x.p AND e.event_id = x.id`,
              [positions, ids],
              { parsers: AS_TEXT },
            );
            if (Number(same[0]!.n) !== events.length) {
              throw new FactumError('ARCHIVE_CONFLICT', `Restoring ${events.length} events: ${events.length - Number(same[0]!.n)} of their positions, ids or stream versions are taken by other events`, { details: { events: events.length } });
            }
          }
          await tx.query(
            `SELECT setval('${s}position_seq', GREATEST($1::bigint, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ${s}position_seq)))`,
            [positions.reduce((max, p) => (BigInt(p) > BigInt(max) ? p : max), positions[0]!)],
          );
          if (lower.length) await setMarkers(tx, lower.map((r) => r.streamId), lower.map((r) => r.fromVersion));
          return written;
        }),
      ),
  };
}

function removeConflict(range: VersionRange, state: { marker: number; version: number }): FactumError {
  const why = range.toVersion >= state.version ? `it would take the stream's last event (version ${state.version}), which must stay` : `the stream is archived before version ${state.marker}, not ${range.fromVersion}`;
  return new FactumError('ARCHIVE_CONFLICT', `Stream "${range.streamId}": versions ${range.fromVersion} to ${range.toVersion} cannot be removed: ${why}`, { details: { ...range, archivedBefore: state.marker, version: state.version } });
}

