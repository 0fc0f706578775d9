// `factum/pglite`: the types of the embedded event store on PGlite (an optional peer dependency).
// Open it with `openEventStore(directory)` or `openEventStore(new PGlite())`, from `factum`.
export { DEFAULT_DATA_DIR, type PGliteEventStore, type PGliteEventStoreOptions } from './store/pglite/pglite-event-store.js';
export type { PGliteLike } from './store/pglite/pglite-client.js';
