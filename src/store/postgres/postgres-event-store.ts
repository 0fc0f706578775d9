import { hasCode } from '../../core/errors.js';
import { validatePositiveInt } from '../../core/validation.js';
import { loadDriver } from '../load-driver.js';
import { SqlEventStore, type SqlEventStoreOptions } from '../sql/sql-event-store.js';
import { connectionFailedError } from './connection-failed-error.js';
import { postgresClient, type PgPoolLike } from './postgres-client.js';

/**
 * How long a new connection may take to be ready for queries, in milliseconds, unless
 * `connectTimeoutMs` says otherwise.
 *
 * @example
 * await openPostgresEventStore({ connection: url, connectTimeoutMs: 3 * DEFAULT_CONNECT_TIMEOUT_MS })
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** What the PostgreSQL store is opened with (through `openEventStore(url, options)`). */
export interface PostgresEventStoreOptions extends SqlEventStoreOptions {
  /** A `postgres://` URL, or a `pg.Pool` you own (factum will not end it). */
  connection: string | PgPoolLike;
  /** Pool size when factum creates the pool; 10 by default. */
  maxConnections?: number;
  /**
   * When factum creates the pool: how long opening one connection (TCP, TLS, authentication,
   * until the server is ready for queries) may take before it fails with `CONNECTION_FAILED`;
   * 10,000 ms by default (`DEFAULT_CONNECT_TIMEOUT_MS`). Without it a host or port that accepts
   * TCP but never answers would hang the open for ever. Waiting for a free connection of a busy
   * pool is not limited by it. A `pg.Pool` you pass keeps its own `connectionTimeoutMillis`.
   */
  connectTimeoutMs?: number;
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
 * The event store on PostgreSQL, through the `pg` driver. Open it with `openEventStore(url)`
 * (or a `pg.Pool`); this type is `factum/postgres`'s.
 *
 * @example
 * import type { PostgresEventStore } from 'factum/postgres'
 * const store = (await openEventStore('postgres://postgres@127.0.0.1:5432/app')) as PostgresEventStore
 */
export class PostgresEventStore extends SqlEventStore {}

/**
 * Opens the PostgreSQL store: connects once (a database that cannot be reached, refuses the
 * credentials or does not exist fails here with `CONNECTION_FAILED`), then applies pending
 * migrations (`MIGRATION_FAILED` when one fails on a live connection).
 *
 * @example
 * const store = await openPostgresEventStore({ connection: process.env.DATABASE_URL!, connectTimeoutMs: 5000 })
 */
export async function openPostgresEventStore(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
  validatePositiveInt('connectTimeoutMs', options.connectTimeoutMs);
  let pool: PgPoolLike;
  let timeoutMs: number | undefined;
  const owns = typeof options.connection === 'string';
  if (typeof options.connection === 'string') {
    const pg = await loadDriver(() => import('pg'), 'pg', 'The PostgreSQL store');
    const { Pool, Client } = pg.default ?? (pg as unknown as typeof import('pg').default);
    const connectionTimeoutMillis = (timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    // On the client, not the pool: pg-pool would also time out waits for a free connection.
    class TimedClient extends Client {
      constructor(config: import('pg').ClientConfig = {}) {
        super({ ...config, connectionTimeoutMillis });
      }
    }
    const created = new Pool({ connectionString: options.connection, max: options.maxConnections ?? 10, Client: TimedClient });
    // An idle client that loses its server emits 'error'; without a listener that would crash the process.
    created.on('error', () => {});
    pool = created;
  } else {
    pool = options.connection;
  }
  const store = new PostgresEventStore(postgresClient(pool, owns, options.preparedStatements ?? true), options);
  try {
    // One connection first, so an unreachable database is told apart from a failed migration.
    (await pool.connect()).release();
  } catch (error) {
    await store.close();
    throw connectionFailedError(error, pool, timeoutMs);
  }
  if (options.migrate ?? true) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw hasCode(error, 'CONNECTION_FAILED') ? connectionFailedError(error, pool, timeoutMs) : error;
    }
  }
  return store;
}
