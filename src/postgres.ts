// `factum/postgres`: the types of the event store on PostgreSQL through `pg` (an optional peer dependency).
// Open it with `openEventStore(url)` or `openEventStore(pool)`, from `factum`.
export { DEFAULT_CONNECT_TIMEOUT_MS, type PostgresEventStore, type PostgresEventStoreOptions } from './store/postgres/postgres-event-store.js';
export type { PgPoolLike } from './store/postgres/postgres-client.js';
