/**
 * The stores every shared suite loops over: memory, PGlite and PostgreSQL. Each `open()` gives a
 * fresh, empty store (SQL stores: a new schema), so tests never see each other's events.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import type { EventStore } from '../src/core/event-store.js';
import type { StoreCapabilities } from '../src/core/store-capabilities.js';
import type { StoreLimits } from '../src/core/validation.js';
import { MemoryEventStore } from '../src/store/memory/memory-event-store.js';
import { openPGliteEventStore } from '../src/store/pglite/pglite-event-store.js';
import { openPostgresEventStore, type PostgresEventStore, type PostgresEventStoreOptions } from '../src/store/postgres/postgres-event-store.js';
import { POSTGRES_URL, postgresUnavailable } from './services.js';

export interface StoreFactory {
  name: 'memory' | 'pglite' | 'postgres';
  /** Names a variant of the store in test titles (`name` when absent). */
  label?: string;
  /** Set when the store cannot run here; the suite is then skipped with this reason. */
  skip?: string;
  /**
   * What its stores declare (`storeCapabilities`), known before one is opened so that suites can
   * skip by it; `describeOnStores` checks every opened store against it.
   */
  capabilities: StoreCapabilities;
  open(options?: { limits?: Partial<StoreLimits> }): Promise<EventStore>;
}

let sharedPGlite: Promise<PGlite> | undefined;
/** One PGlite database per test file (it takes a second to start); each store gets its own schema. */
export function testPGlite(): Promise<PGlite> {
  sharedPGlite ??= PGlite.create('memory://');
  return sharedPGlite;
}

export const uniqueSchema = (): string => `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

/** Drops test schemas left in PostgreSQL; call in afterAll. */
export async function dropSchemas(schemas: string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export const createdSchemas: string[] = [];

const MEMORY: StoreCapabilities = { sql: false, concurrentSessions: false, listen: false, inlineHooks: true, ephemeral: true };
const PGLITE: StoreCapabilities = { sql: true, concurrentSessions: false, listen: false, inlineHooks: true, ephemeral: false };
const POSTGRES: StoreCapabilities = { sql: true, concurrentSessions: true, listen: true, inlineHooks: true, ephemeral: false };

export async function storeFactories(): Promise<StoreFactory[]> {
  const pgSkip = await postgresUnavailable();
  return [
    { name: 'memory', capabilities: MEMORY, open: async (options = {}) => new MemoryEventStore(options) },
    {
      name: 'pglite',
      capabilities: PGLITE,
      open: async (options = {}) => openPGliteEventStore({ dataDir: await testPGlite(), schema: uniqueSchema(), ...options }),
    },
    {
      name: 'postgres',
      capabilities: POSTGRES,
      ...(pgSkip ? { skip: pgSkip } : {}),
      open: (options = {}) => openTestPostgres(options),
    },
  ];
}

/** A fresh PostgreSQL store in a schema of its own (dropped by `dropSchemas(createdSchemas)`). */
export function openTestPostgres(options: Partial<PostgresEventStoreOptions> = {}): Promise<PostgresEventStore> {
  const schema = uniqueSchema();
  createdSchemas.push(schema);
  return openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4, ...options });
}
