import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { StoreLimits } from '../core/validation.js';
import { MemoryEventStore } from './memory/memory-event-store.js';
import type { AppendBatching } from './sql/append/single-event-appends.js';
import type { PGliteLike } from './pglite/pglite-client.js';
import type { PgPoolLike } from './postgres/postgres-client.js';
import { parseStoreLocation } from './store-location.js';

/** Options of `openEventStore` beyond the location. */
export interface OpenEventStoreOptions {
  /** Database schema (SQL stores); `factum` by default. */
  schema?: string;
  limits?: Partial<StoreLimits>;
  /** Apply pending migrations (SQL stores); true by default. */
  migrate?: boolean;
  /** Pool size for PostgreSQL URLs. */
  maxConnections?: number;
  /** For PostgreSQL URLs: how long opening a connection may take; 10,000 ms by default (see `PostgresEventStoreOptions`). */
  connectTimeoutMs?: number;
  /** How concurrent single-event appends share statements on PostgreSQL (see `PostgresEventStoreOptions`). */
  appendBatching?: AppendBatching;
  /** PostgreSQL: send statements as named prepared statements; true by default (false behind PgBouncer before 1.21). */
  preparedStatements?: boolean;
  /** Embedded store: where templates for new directories are kept, or `false` (see `PGliteEventStoreOptions`). */
  templateDir?: string | false;
}

/**
 * Opens an event store from one argument:
 * - nothing, or a directory (a relative or absolute path, `C:\\data`, `file:///abs/dir`,
 *   `file:rel/dir`): the embedded PGlite store (`./.factum/db` by default);
 * - `'memory:'` (or `'memory://'`): the in-memory store;
 * - a `postgres://` or `postgresql://` URL, or a `pg.Pool`: PostgreSQL;
 * - a PGlite instance of your own (`new PGlite()`, in memory or on disk): the embedded store on it
 *   (closing the store leaves the instance open).
 * It is the one way to open a store: every option of every store is here.
 * Any other string with a URL scheme (`'mysql://...'`, `'memory:x'`) and the empty string are
 * refused with `INVALID_ARGUMENT`: they would otherwise become a directory of that name.
 * Drivers are loaded only when used, so each is an optional peer dependency.
 *
 * @example
 * const store = await openEventStore()                                  // embedded, on disk
 * const test = await openEventStore('memory:')                          // in memory
 * const prod = await openEventStore(process.env.DATABASE_URL)           // PostgreSQL
 * const sql = await openEventStore(new PGlite())                        // embedded, in memory
 */
export async function openEventStore(location?: string | PgPoolLike | PGliteLike, options: OpenEventStoreOptions = {}): Promise<EventStore> {
  const sql = { ...(options.schema ? { schema: options.schema } : {}), ...(options.limits ? { limits: options.limits } : {}), migrate: options.migrate ?? true };
  const postgres = {
    ...(options.appendBatching !== undefined ? { appendBatching: options.appendBatching } : {}),
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(options.preparedStatements !== undefined ? { preparedStatements: options.preparedStatements } : {}),
    ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
  };
  const pglite = { ...sql, ...(options.templateDir !== undefined ? { templateDir: options.templateDir } : {}) };
  const parsed = typeof location === 'string' ? parseStoreLocation(location) : undefined;
  if (parsed?.kind === 'memory') return new MemoryEventStore(options.limits ? { limits: options.limits } : {});
  if (parsed?.kind === 'postgres') {
    const { openPostgresEventStore } = await import('./postgres/postgres-event-store.js');
    return openPostgresEventStore({ ...sql, ...postgres, connection: parsed.url });
  }
  if (location === undefined || parsed?.kind === 'embedded') {
    const { openPGliteEventStore } = await import('./pglite/pglite-event-store.js');
    return openPGliteEventStore({ ...pglite, ...(parsed ? { dataDir: parsed.dataDir } : {}) });
  }
  if (isPGlite(location)) {
    const { openPGliteEventStore } = await import('./pglite/pglite-event-store.js');
    return openPGliteEventStore({ ...pglite, dataDir: location });
  }
  if (typeof location === 'object' && location !== null && typeof (location as { connect?: unknown }).connect === 'function') {
    const { openPostgresEventStore } = await import('./postgres/postgres-event-store.js');
    return openPostgresEventStore({ ...sql, ...postgres, connection: location as never });
  }
  throw new FactumError('INVALID_ARGUMENT', 'openEventStore takes nothing, a directory, "memory:", a postgres:// URL, a pg.Pool or a PGlite instance');
}

/** A PGlite instance (it runs SQL and transactions, and unlike a pool hands out no connections). */
function isPGlite(location: unknown): location is PGliteLike {
  const candidate = location as Partial<Record<'exec' | 'transaction' | 'connect', unknown>> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.exec === 'function' && typeof candidate.transaction === 'function' && candidate.connect === undefined;
}
