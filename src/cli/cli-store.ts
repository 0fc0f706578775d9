import { existsSync } from 'node:fs';
import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { openEventStore } from '../store/open-event-store.js';
import { parseStoreLocation } from '../store/store-location.js';
import { storeMigrations } from '../store/store-migrations.js';
import { loadConfig } from './load-config.js';

/** The options every command takes to find its store. */
export interface StoreFlags {
  db?: string;
  schema?: string;
  /** The config module (`--config`), whose `db` and `schema` are the last fallback. */
  config?: string;
}

export interface CliStoreOptions {
  /** Create an embedded directory that does not exist. */
  create?: boolean;
  /** Apply pending migrations on open (import). */
  migrate?: boolean;
  /** Open a schema that lacks migrations (the migrations commands). */
  skipCheck?: boolean;
}

/**
 * Opens the store a command works on: `--db` (a postgres:// URL or an embedded directory), else
 * `FACTUM_DATABASE_URL`, else the config module's `db`. A store is never created by accident: an embedded directory must exist
 * unless `create` is set (import, migrations apply), and a schema behind this version of factum
 * is refused with the command that brings it up to date, rather than changed behind the
 * operator's back (only `migrations apply` and `import` migrate).
 */
export async function openCliStore(flags: StoreFlags, options: CliStoreOptions = {}): Promise<EventStore> {
  // The config module is loaded only when it is needed: a broken one must not stop `--db` commands.
  const config = flags.db || process.env.FACTUM_DATABASE_URL ? undefined : (await loadConfig(flags.config))?.config;
  const location = flags.db || process.env.FACTUM_DATABASE_URL || config?.db;
  const schema = flags.schema ?? config?.schema;
  if (!location) {
    throw new FactumError('INVALID_ARGUMENT', 'No store given: pass --db <postgres://… URL or embedded directory>, set FACTUM_DATABASE_URL, or name it in factum.config.ts (db)');
  }
  const parsed = parseStoreLocation(location);
  if (parsed.kind === 'memory') throw new FactumError('INVALID_ARGUMENT', 'The in-memory store lives inside one process: the CLI cannot reach it');
  if (parsed.kind === 'embedded' && !options.create && !existsSync(parsed.dataDir)) {
    throw new FactumError('NOT_FOUND', `No embedded store at ${parsed.dataDir}`, { details: { dataDir: parsed.dataDir } });
  }
  const migrate = options.migrate ?? false;
  const store = await openEventStore(location, { migrate, ...(schema ? { schema } : {}) });
  if (!migrate && !options.skipCheck) {
    try {
      const migrations = await storeMigrations(store);
      const pending = migrations.filter((m) => !m.appliedAt);
      if (pending.length > 0) {
        const what = pending.length === migrations.length ? 'has no factum schema yet' : `lacks migrations ${pending.map((m) => m.version).join(', ')}`;
        throw new FactumError('MIGRATIONS_PENDING', `The store ${what}: run \`factum migrations apply\` first`, { details: { pending: pending.map((m) => m.version) } });
      }
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
  }
  return store;
}

/** Runs `work` on the store and closes it, also when `work` fails. */
export async function withStore<T>(flags: StoreFlags, work: (store: EventStore) => Promise<T>, options: CliStoreOptions = {}): Promise<T> {
  const store = await openCliStore(flags, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
