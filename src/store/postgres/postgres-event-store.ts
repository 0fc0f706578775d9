import { SqlEventStore, type SqlEventStoreOptions } from '../sql/sql-event-store.js';
import { postgresClient, type PgPoolLike } from './postgres-client.js';

/** Options of `openPostgresEventStore`. */
export interface PostgresEventStoreOptions extends SqlEventStoreOptions {
  /** A `postgres://` URL, or a `pg.Pool` you own (factum will not end it). */
  connection: string | PgPoolLike;
  /** Pool size when factum creates the pool; 10 by default. */
  maxConnections?: number;
  /** Apply pending migrations on open; true by default. */
  migrate?: boolean;
  /**
   * Send the store's statements as named prepared statements, parsed and planned once per
   * connection; true by default. Turn it off behind a connection pooler in transaction mode
   * that does not keep prepared statements (PgBouncer before 1.21).
   */
  preparedStatements?: boolean;
}

/**
 * The event store on PostgreSQL, through the `pg` driver.
 *
 * @example
 * import { openPostgresEventStore } from 'factum/postgres'
 * const store = await openPostgresEventStore({ connection: 'postgres://postgres@127.0.0.1:5432/app' })
 */
export class PostgresEventStore extends SqlEventStore {}

export async function openPostgresEventStore(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
  let pool: PgPoolLike;
  const owns = typeof options.connection === 'string';
  if (typeof options.connection === 'string') {
    const pg = await import('pg');
    const Pool = pg.default?.Pool ?? (pg as unknown as { Pool: typeof import('pg').Pool }).Pool;
    const created = new Pool({ connectionString: options.connection, max: options.maxConnections ?? 10 });
    // An idle client that loses its server emits 'error'; without a listener that would crash the process.
    created.on('error', () => {});
    pool = created;
  } else {
    pool = options.connection;
  }
  const store = new PostgresEventStore(postgresClient(pool, owns, options.preparedStatements ?? true), options);
  if (options.migrate ?? true) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}
