import type { SqlQueryable } from '../../core/sql-queryable.js';
import { storageError } from '../../store/sql-access.js';
import type { Snapshot, SnapshotStore } from './snapshot-store.js';

/** What `SqlSnapshotStore` needs from an `SqlEventStore`: its client and schema prefix. */
export interface SqlSnapshotTarget {
  client: SqlQueryable;
  names: { s: string };
}

interface SnapshotRow {
  stream_id: string;
  name: string;
  snapshot_version: number;
  stream_version: string | number;
  from_version: string | number;
  state: Snapshot['state'];
}

/**
 * Snapshots in the `snapshots` table beside the log (migration 3), for PostgreSQL and PGlite.
 * Saving is one upsert that never moves a snapshot back to an older stream version.
 *
 * @example
 * const store = await openPGliteEventStore()
 * const snapshots = new SqlSnapshotStore(store) // or snapshotStoreFor(store)
 */
export class SqlSnapshotStore implements SnapshotStore {
  private readonly client: SqlQueryable;
  private readonly s: string;

  constructor(store: SqlSnapshotTarget) {
    this.client = store.client;
    this.s = store.names.s;
  }

  async load(streamId: string, name: string, snapshotVersion: number): Promise<Snapshot | undefined> {
    const { rows } = await this.run<SnapshotRow>('load snapshot',
      `SELECT stream_id, name, snapshot_version, stream_version, from_version, state FROM ${this.s}snapshots
        WHERE stream_id = $1 AND name = $2 AND snapshot_version = $3`,
      [streamId, name, snapshotVersion],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      streamId: row.stream_id,
      name: row.name,
      snapshotVersion: Number(row.snapshot_version),
      streamVersion: Number(row.stream_version),
      fromVersion: Number(row.from_version),
      state: row.state,
    };
  }

  async save(snapshot: Snapshot): Promise<void> {
    await this.run('save snapshot', `
      INSERT INTO ${this.s}snapshots AS t (stream_id, name, snapshot_version, stream_version, from_version, state)
      VALUES ($1, $2, $3, $4, $5, $6::jsonb)
      ON CONFLICT (stream_id, name, snapshot_version) DO UPDATE
        SET stream_version = excluded.stream_version, from_version = excluded.from_version, state = excluded.state, created_at = now()
        WHERE t.stream_version <= excluded.stream_version OR t.from_version <> excluded.from_version`,
      [snapshot.streamId, snapshot.name, snapshot.snapshotVersion, snapshot.streamVersion, snapshot.fromVersion, JSON.stringify(snapshot.state)],
    );
  }

  async delete(streamId: string, name?: string): Promise<void> {
    await this.run('delete snapshots', `DELETE FROM ${this.s}snapshots WHERE stream_id = $1 AND ($2::text IS NULL OR name = $2)`, [streamId, name ?? null]);
  }

  private async run<Row>(operation: string, sql: string, params: unknown[]): Promise<{ rows: Row[] }> {
    try {
      return await this.client.query<Row>(sql, params);
    } catch (error) {
      throw storageError(operation, error);
    }
  }
}
