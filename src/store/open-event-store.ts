import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { StoreLimits } from '../core/validation.js';
import { MemoryEventStore } from './memory/memory-event-store.js';
import type { AppendBatching } from './sql/append/single-event-appends.js';
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
  /** For PostgreSQL URLs: how long opening a connection may take; 10,000 ms by default (see `openPostgresEventStore`). */
  connectTimeoutMs?: number;
  /** How concurrent single-event appends share statements on PostgreSQL (see `openPostgresEventStore`). */
  appendBatching?: AppendBatching;
}

/**
 * Opens an event store from one argument:
 * - nothing, or a directory (a relative or absolute path, `C:\\data`, `file:///abs/dir`,
 *   `file:rel/dir`): the embedded PGlite store (`./.factum/db` by default);
 * - `'memory:'` (or `'memory://'`): the in-memory store;
 * - a `postgres://` or `postgresql://` URL, or a `pg.Pool`: PostgreSQL.
 * Any other string with a URL scheme (`'mysql://...'`, `'memory:x'`) and the empty string are
 * refused with `INVALID_ARGUMENT`: they would otherwise become a directory of that name.
 * Drivers are loaded only when used, so each is an optional peer dependency.
 *
 * @example
 * const store = await openEventStore()                                  // embedded, on disk
 * const test = await openEventStore('memory:')                          // in memory
 * const prod = await openEventStore(process.env.DATABASE_URL)           // PostgreSQL
 */
export async function openEventStore(location?: string | object, options: OpenEventStoreOptions = {}): Promise<EventStore> {
  const sql = { ...(options.schema ? { schema: options.schema } : {}), ...(options.limits ? { limits: options.limits } : {}), migrate: options.migrate ?? true };
  const postgres = {
    ...(options.appendBatching !== undefined ? { appendBatching: options.appendBatching } : {}),
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  };
  const parsed = typeof location === 'string' ? parseStoreLocation(location) : undefined;
  if (parsed?.kind === 'memory') return new MemoryEventStore(options.limits ? { limits: options.limits } : {});
  if (parsed?.kind === 'postgres') {
    const { openPostgresEventStore } = await import('./postgres/postgres-event-store.js');
    return openPostgresEventStore({ ...sql, ...postgres, connection: parsed.url, ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}) });
  }
  if (location === undefined || parsed?.kind === 'embedded') {
    const { openPGliteEventStore } = await import('./pglite/pglite-event-store.js');
    return openPGliteEventStore({ ...sql, ...(parsed ? { dataDir: parsed.dataDir } : {}) });
  }
  if (typeof location === 'object' && location !== null && typeof (location as { connect?: unknown }).connect === 'function') {
    const { openPostgresEventStore } = await import('./postgres/postgres-event-store.js');
    return openPostgresEventStore({ ...sql, ...postgres, connection: location as never });
  }
  throw new FactumError('INVALID_ARGUMENT', 'openEventStore takes nothing, a directory, "memory:", a postgres:// URL or a pg.Pool');
}
