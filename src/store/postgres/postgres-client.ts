import type { SqlClient, SqlQueryable } from '../sql/sql-client.js';

/**
 * The subset of `pg.Pool` factum uses, typed here so that `pg` stays an optional peer
 * dependency: users who run only PGlite never install it.
 */
export interface PgPoolLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
  connect(): Promise<{ query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>; release(error?: Error | boolean): void }>;
  end(): Promise<void>;
}

/** Wraps a `pg.Pool`. `ownsPool` says whether `close()` ends it (pools passed in by users are theirs). */
export function postgresClient(pool: PgPoolLike, ownsPool: boolean): SqlClient {
  return {
    kind: 'postgres',
    query: (sql, params) => pool.query(sql, params),
    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        const result = await fn({ query: (sql, params) => connection.query(sql, params) });
        await connection.query('COMMIT');
        connection.release();
        return result;
      } catch (error) {
        // A connection whose ROLLBACK fails is broken: destroy it rather than return it to the pool.
        await connection.query('ROLLBACK').then(
          () => connection.release(),
          (rollbackError: Error) => connection.release(rollbackError),
        );
        throw error;
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}
