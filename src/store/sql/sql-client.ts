import type { SqlQueryable } from '../../core/sql-queryable.js';

export type { QueryOptions, SqlQueryable, TypeParsers } from '../../core/sql-queryable.js';

/**
 * The little the SQL store needs from a driver. `pg` and PGlite both fit behind it, so one
 * implementation of the store serves PostgreSQL and the embedded database.
 */
export interface SqlClient extends SqlQueryable {
  /** 'postgres' or 'pglite'. */
  readonly kind: string;
  /**
   * True when parameterised statements are prepared once and then reused (PostgreSQL by
   * default; PGlite through its wire API): the single-event INSERT, whose subqueries cost more
   * to plan than the append function costs to call, is taken only then.
   */
  readonly preparesStatements: boolean;
  /**
   * True when statements of several sessions run at once (a pool of connections): appends then
   * take the log's lock, share statements, and announce themselves with NOTIFY; readers of `$all`
   * look for appends in flight. False for PGlite, one session that runs one statement at a time.
   */
  readonly concurrentSessions: boolean;
  /**
   * LISTENs on `channel` on a connection of its own (PostgreSQL): `onNotify` runs per
   * notification, `onError` when that connection breaks. Resolves to the function that stops.
   */
  listen?(channel: string, onNotify: () => void, onError: (error: Error) => void): Promise<() => Promise<void>>;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Runs several statements separated by semicolons (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}
