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
 * Same SQL, same behaviour as the PostgreSQL store.
 *
 * @example
 * import { openPGliteEventStore } from 'factum/pglite'
 * const store = await openPGliteEventStore({ dataDir: './.factum/db' })
 */
export class PGliteEventStore extends SqlEventStore {}

export const DEFAULT_DATA_DIR = './.factum/db';

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
