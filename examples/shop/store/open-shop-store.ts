/**
 * Opens the shop's store: PostgreSQL when a URL is given, otherwise the embedded PGlite store in
 * a directory (./.factum/shop by default), so that a second run continues from the first.
 */
import { mkdir } from 'node:fs/promises';
import { openPGliteEventStore, type EventStore } from '../factum.js';
import { lockDataDir } from './data-dir-lock.js';
import { reentrantPGlite } from './reentrant-pglite.js';

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
    // Loaded only when used: `pg` is an optional peer of factum.
    const { openSerialReadsPostgresStore } = await import('./serial-reads-postgres.js');
    const store = await openSerialReadsPostgresStore(config.databaseUrl, { ...schema, maxConnections: 20 });
    return { store, where: `PostgreSQL ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//…@')}${config.schema ? ` schema ${config.schema}` : ''}`, close: () => store.close() };
  }
  const onDisk = !config.dataDir.startsWith('memory://');
  if (onDisk) await mkdir(config.dataDir, { recursive: true });
  const unlock = onDisk ? lockDataDir(config.dataDir) : () => undefined;
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = reentrantPGlite(await PGlite.create(config.dataDir));
    const store = await openPGliteEventStore({ dataDir: db, ...schema }).catch(async (error: unknown) => {
      await db.close();
      throw error;
    });
    return {
      store,
      where: `PGlite in ${config.dataDir}`,
      async close() {
        try {
          await store.close();
          await db.close();
        } finally {
          unlock();
        }
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}
