/**
 * Opens the shop's store: PostgreSQL when a URL is given, otherwise the embedded PGlite store in
 * a directory (./.factum/shop by default), so that a second run continues from the first.
 */
import { openEventStore, type EventStore } from '../../../src/index.js';

export interface ShopStoreConfig {
  /** postgres://… to run on PostgreSQL. */
  databaseUrl?: string;
  /** PGlite's directory when no URL is given (`memory://` keeps it in memory). */
  dataDir: string;
  /** Database schema; `factum` by default. */
  schema?: string;
}

export interface ShopStore {
  store: EventStore;
  /** Where it lives, for the printout. */
  where: string;
  close(): Promise<void>;
}

export async function openShopStore(config: ShopStoreConfig): Promise<ShopStore> {
  const schema = config.schema ? { schema: config.schema } : {};
  if (config.databaseUrl) {
    // Each running subscription holds a connection for its batch while its steps append on
    // others: the pool must be larger than the number of subscriptions.
    const store = await openEventStore(config.databaseUrl, { ...schema, maxConnections: 20 });
    return { store, where: `PostgreSQL ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//…@')}${config.schema ? ` schema ${config.schema}` : ''}`, close: () => store.close() };
  }
  // The embedded store locks its directory (one process at a time) and lets a saga step append
  // from inside its subscription's transaction, so step, inbox row and checkpoint commit together.
  const store = await openEventStore(config.dataDir, schema);
  return { store, where: `PGlite in ${config.dataDir}`, close: () => store.close() };
}
