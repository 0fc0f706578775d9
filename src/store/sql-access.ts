import type { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import type { SqlClient, SqlQueryable, TypeParsers } from './sql/sql-client.js';
import type { SqlNames } from './sql/sql-names.js';

// The SQL store's internals the layers above may use, so none of them imports src/store/sql/*.
export type { QueryOptions, SqlClient, SqlQueryable, TypeParsers } from './sql/sql-client.js';
export type { SqlNames } from './sql/sql-names.js';
export { storageError } from './sql/storage-error.js';

/** What the layers above need of a SQL store: its session pool, its names, and how to read events rows. */
export interface SqlAccess {
  /** Statements, transactions, LISTEN (PostgreSQL): the store's own connections. */
  readonly client: SqlClient;
  /** The schema (`names.s` is the `"schema".` prefix), lock keys and the append channel. */
  readonly names: SqlNames;
  /** Runs `fn` in one transaction on one session; it rolls back if `fn` throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Columns of the events table (aliased `e`) that, read with `eventParsers`, make each row a `RecordedEvent`. */
  readonly eventColumns: string;
  readonly eventParsers: TypeParsers;
  /** A database failure as users see it: `STORAGE_ERROR` naming the operation, the driver's error as cause. */
  storageError(operation: string, error: unknown): FactumError;
}

/** Where a SQL store keeps its `SqlAccess`; a registry wrapper passes it through like any property. */
export const SQL_ACCESS = Symbol.for('factum.sqlAccess');

/**
 * The SQL side of a store that declares the `sql` capability (PostgreSQL, PGlite), wrapped by a
 * registry or not; undefined for the others (the memory store). For code that keeps its own
 * tables beside the log: read models, checkpoints, snapshots.
 *
 * @example
 * const sql = sqlAccess(store)
 * if (!sql) throw new Error('This read model needs PGlite or PostgreSQL')
 * await sql.transaction((tx) => tx.query(`CREATE TABLE IF NOT EXISTS ${sql.names.s}totals (id text PRIMARY KEY)`))
 */
export function sqlAccess(store: EventStore): SqlAccess | undefined {
  if (!storeCapabilities(store).sql) return undefined;
  return (store as unknown as Partial<Record<typeof SQL_ACCESS, SqlAccess>>)[SQL_ACCESS];
}
