// `factum/pglite`: the embedded event store on PGlite (an optional peer dependency).
export { PGliteEventStore, openPGliteEventStore, DEFAULT_DATA_DIR, type PGliteEventStoreOptions } from './store/pglite/pglite-event-store.js';
export type { PGliteLike } from './store/pglite/pglite-client.js';
