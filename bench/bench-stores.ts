/**
 * The stores the saga and workflow benchmarks run on: PostgreSQL in a schema of its own (dropped
 * on close) and PGlite in memory. `wrap` sees the store's `SqlClient` before the store does (to
 * count its statements, see statement-counter.ts).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import * as pgliteModule from '@electric-sql/pglite';
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient } from '../src/store/sql/sql-client.js';
import { pgliteClient } from '../src/store/pglite/pglite-client.js';
import type { PGliteModuleLike } from '../src/store/pglite/prepared-pglite.js';
import { PGliteEventStore } from '../src/store/pglite/pglite-event-store.js';
import { postgresClient } from '../src/store/postgres/postgres-client.js';
import { PostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import type { SqlEventStore } from '../src/store/sql/sql-event-store.js';
import { SERVER_URL } from './bench-database.js';

export type BenchBackend = 'postgres' | 'pglite';

/** An open store, how to ask it things the benchmark must not count, and how to end it. */
export interface BenchStore {
  backend: BenchBackend;
  /** For tables: `PostgreSQL`, `PGlite (in memory)`. */
  label: string;
  store: SqlEventStore;
  schema: string;
  /** A statement outside the store's client (its own connection on PostgreSQL, PGlite directly). */
  uncounted<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Closes the store; on PostgreSQL drops its schema. */
  close(): Promise<void>;
}

/** Opens `backend` in a new schema named `<prefix>_<random>` (PostgreSQL) or `bench` (PGlite), migrated. */
export async function openBenchStore(backend: BenchBackend, options: { prefix: string; maxConnections?: number; wrap?: (client: SqlClient) => SqlClient }): Promise<BenchStore> {
  const wrap = options.wrap ?? ((c: SqlClient) => c);
  if (backend === 'postgres') {
    const schema = `${options.prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const pool = new pg.Pool({ connectionString: SERVER_URL, max: options.maxConnections ?? 10 });
    pool.on('error', () => {});
    const store = new PostgresEventStore(wrap(postgresClient(pool, true)), { schema });
    await store.migrate();
    const side = new pg.Client({ connectionString: SERVER_URL });
    await side.connect();
    return {
      backend,
      label: 'PostgreSQL',
      store,
      schema,
      uncounted: async <Row>(sql: string, params?: unknown[]) => (await side.query(sql, params)).rows as Row[],
      async close() {
        await store.close();
        await side.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await side.end();
      },
    };
  }
  const schema = 'bench';
  const db = await PGlite.create('memory://');
  const store = new PGliteEventStore(wrap(pgliteClient(db, pgliteModule as unknown as PGliteModuleLike, true)), { schema });
  await store.migrate();
  return {
    backend,
    label: 'PGlite (in memory)',
    store,
    schema,
    uncounted: async <Row>(sql: string, params?: unknown[]) => (await db.query<Row>(sql, params)).rows,
    close: () => store.close(),
  };
}
