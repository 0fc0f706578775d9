import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { StoreLimits } from '../core/validation.js';
import { MemoryEventStore } from './memory/memory-event-store.js';
import type { AppendBatching } from './sql/single-event-appends.js';

/** Options of `openEventStore` beyond the location. */
export interface OpenEventStoreOptions {
  /** Database schema (SQL stores); `factum` by default. */
  schema?: string;
  limits?: Partial<StoreLimits>;
  /** Apply pending migrations (SQL stores); true by default. */
  migrate?: boolean;
  /** Pool size for PostgreSQL URLs. */
  maxConnections?: number;
  /** How concurrent single-event appends share statements on PostgreSQL (see `openPostgresEventStore`). */
  appendBatching?: AppendBatching;
}

/**
 * Opens an event store from one argument:
 * - nothing, or a directory path: the embedded PGlite store (`./.factum/db` by default);
 * - `'memory:'`: the in-memory store;
 * - a `postgres://` or `postgresql://` URL, or a `pg.Pool`: PostgreSQL.
 * Drivers are loaded only when used, so each is an optional peer dependency.
 *
 * @example
 * const store = await openEventStore()                                  // embedded, on disk
 * const test = await openEventStore('memory:')                          // in memory
 * const prod = await openEventStore(process.env.DATABASE_URL)           // PostgreSQL
 */
export async function openEventStore(location?: string | object, options: OpenEventStoreOptions = {}): Promise<EventStore> {
  const sql = { ...(options.schema ? { schema: options.schema } : {}), ...(options.limits ? { limits: options.limits } : {}), migrate: options.migrate ?? true };
  const postgres = options.appendBatching !== undefined ? { appendBatching: options.appendBatching } : {};
  if (location === 'memory:' || location === 'memory://') return new MemoryEventStore(options.limits ? { limits: options.limits } : {});
  if (typeof location === 'string' && /^postgres(ql)?:\/\//.test(location)) {
    const { openPostgresEventStore } = await import('./postgres/postgres-event-store.js');
    return openPostgresEventStore({ ...sql, ...postgres, connection: location, ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}) });
  }
  if (location === undefined || typeof location === 'string') {
    const { openPGliteEventStore } = await import('./pglite/pglite-event-store.js');
    return openPGliteEventStore({ ...sql, ...(location ? { dataDir: location } : {}) });
  }
  if (typeof (location as { connect?: unknown }).connect === 'function') {
    const { openPostgresEventStore } = await import('./postgres/postgres-event-store.js');
    return openPostgresEventStore({ ...sql, ...postgres, connection: location as never });
  }
  throw new FactumError('INVALID_ARGUMENT', 'openEventStore takes nothing, a directory, "memory:", a postgres:// URL or a pg.Pool');
}
