import type { QueryOptions, SqlClient, SqlQueryable } from '../sql/sql-client.js';
import { preparedPGlite, type PGliteModuleLike } from './prepared-pglite.js';
import { reentrantPGlite } from './reentrant-pglite.js';

/** The subset of PGlite factum uses, typed here so that PGlite stays an optional peer dependency. */
export interface PGliteLike {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
  transaction<T>(fn: (tx: { query<R>(sql: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: R[] }> }) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly closed?: boolean;
}

/**
 * Wraps a PGlite instance. PGlite runs one statement at a time, in process; work started inside
 * one of its transactions joins that transaction (see reentrant-pglite.ts), and parameterised
 * statements run prepared (see prepared-pglite.ts). `onClose` releases the data directory.
 */
export function pgliteClient(pglite: PGliteLike, pgliteModule: PGliteModuleLike, ownsDb: boolean, onClose?: () => Promise<void>): SqlClient {
  const prepared = preparedPGlite(pglite, pgliteModule);
  const db = reentrantPGlite(prepared);
  return {
    kind: 'pglite',
    preparesStatements: prepared !== pglite,
    concurrentSessions: false,
    query: <Row>(sql: string, params?: unknown[], options?: QueryOptions) => db.query<Row>(sql, params, options),
    transaction: <T>(fn: (tx: SqlQueryable) => Promise<T>) =>
      db.transaction((tx) => fn({ query: <Row>(sql: string, params?: unknown[], options?: QueryOptions) => tx.query<Row>(sql, params, options) })),
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {
      if (ownsDb && !db.closed) await db.close();
      await onClose?.();
    },
  };
}
