// `factum/postgres`: the event store on PostgreSQL through `pg` (an optional peer dependency).
export { PostgresEventStore, openPostgresEventStore, DEFAULT_CONNECT_TIMEOUT_MS, type PostgresEventStoreOptions } from './store/postgres/postgres-event-store.js';
export type { PgPoolLike } from './store/postgres/postgres-client.js';
