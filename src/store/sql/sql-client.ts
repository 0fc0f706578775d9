/**
 * The little the SQL store needs from a driver. `pg` and PGlite both fit behind it, so one
 * implementation of the store serves PostgreSQL and the embedded database.
 */
export interface SqlQueryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: Row[] }>;
}

export interface QueryOptions {
  /**
   * PostgreSQL: false sends the statement unnamed, planned for its parameters on every call.
   * For statements whose best plan depends on the values (a stream read from version 100,001
   * of a 100,000-event stream), where a cached generic plan would scan the whole stream.
   */
  prepare?: boolean;
}

export interface SqlClient extends SqlQueryable {
  /** 'postgres' or 'pglite'. */
  readonly kind: string;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Runs several statements separated by semicolons (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}
