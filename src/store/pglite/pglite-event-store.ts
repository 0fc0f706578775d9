import { loadDriver } from '../load-driver.js';
import { SqlEventStore, type SqlEventStoreOptions } from '../sql/sql-event-store.js';
import { lockDataDir } from './data-dir-lock.js';
import { defaultTemplateRoot, seedDataDir } from './data-dir-template.js';
import { pgliteClient, type PGliteLike } from './pglite-client.js';
import type { PGliteModuleLike } from './prepared-pglite.js';

/** Options of `openPGliteEventStore`. */
export interface PGliteEventStoreOptions extends SqlEventStoreOptions {
  /** A directory for the database files (`./.factum/db` by default), `'memory://'`, or a PGlite instance you own. */
  dataDir?: string | PGliteLike;
  /** Apply pending migrations on open; true by default. */
  migrate?: boolean;
  /**
   * Where the templates for new directories are kept (a migrated database made once per PGlite
   * version, schema and migrations, then copied: see data-dir-template.ts), or `false` to let
   * PGlite create each new database in place.
   * The user's cache folder by default (`~/.cache/factum` on Linux).
   *
   * @example
   * await openPGliteEventStore({ dataDir: './data/events', templateDir: './.cache/factum' })
   */
  templateDir?: string | false;
}

/**
 * The embedded event store: real PostgreSQL compiled to WebAssembly (PGlite), no server needed.
 * Same SQL, same behaviour as the PostgreSQL store. Open it with `openEventStore(directory)` (or
 * a PGlite instance); this type is `factum/pglite`'s.
 *
 * @example
 * import type { PGliteEventStore } from 'factum/pglite'
 * const store = (await openEventStore('./.factum/db')) as PGliteEventStore
 */
export class PGliteEventStore extends SqlEventStore {}

/**
 * Where the embedded store keeps its files when no `dataDir` is given (relative to the working directory).
 *
 * @example
 * await rm(DEFAULT_DATA_DIR, { recursive: true, force: true }) // start over in development
 */
export const DEFAULT_DATA_DIR = './.factum/db';

/**
 * Opens the embedded store: takes the data directory's lock (a directory open in another process
 * or store object fails with `STORE_LOCKED`), seeds a new directory from a migrated template, and
 * applies pending migrations. `dataDir` may be a directory (`./.factum/db` by default),
 * `memory://` for a database that lives in memory, or a PGlite instance you own.
 *
 * @example
 * import { openPGliteEventStore } from 'factum/pglite'
 * const store = await openPGliteEventStore({ dataDir: './data/events', schema: 'shop' })
 * await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'a' } }])
 * await store.close() // releases the directory for the next process
 */
export async function openPGliteEventStore(options: PGliteEventStoreOptions = {}): Promise<PGliteEventStore> {
  let db: PGliteLike;
  let unlock: (() => Promise<void>) | undefined;
  const owns = typeof options.dataDir !== 'object';
  const pgliteModule = await loadDriver(() => import('@electric-sql/pglite'), '@electric-sql/pglite', 'The embedded store');
  if (typeof options.dataDir === 'object') {
    db = options.dataDir;
  } else {
    const dir = options.dataDir ?? DEFAULT_DATA_DIR;
    if (!dir.startsWith('memory://')) {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(dir, { recursive: true });
      unlock = await lockDataDir(dir);
    }
    try {
      const templateDir = options.templateDir ?? defaultTemplateRoot();
      if (unlock && templateDir !== false) {
        await seedDataDir(dir, { root: templateDir, schema: options.schema ?? 'factum', migrate: options.migrate ?? true });
      }
      db = (await pgliteModule.PGlite.create(dir)) as unknown as PGliteLike;
    } catch (error) {
      await unlock?.();
      throw error;
    }
  }
  const store = new PGliteEventStore(pgliteClient(db, pgliteModule as unknown as PGliteModuleLike, owns, unlock), options);
  if (options.migrate ?? true) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}
