/**
 * Catch-up of an async projection: a log of 20,000 events already written, then a
 * `ProjectionRunner` started from nothing, timed until its checkpoint reaches the head. The read
 * model is a count per stream, one upsert per event (the per-event handler path, batches of 100
 * events per transaction), on PostgreSQL and on in-memory PGlite. It measures what a delivery
 * costs per event beside the handler's own statement: a savepoint, a release, a commit.
 *
 * Uses only what every version since 4500610 has, so the same file measures before and after a
 * change: copy it into the other worktree and run `npx tsx bench/catch-up.ts [runs]`; it prints
 * one line per store and run: events per second, and the statements the runner's transactions
 * sent per event (counted by wrapping the store's `client.transaction`), which, unlike the rate,
 * does not move with the load of a shared machine.
 */
import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { EventStore } from '../src/core/event-store.js';
import { defineProjection } from '../src/projections/projection.js';
import { ProjectionRunner } from '../src/projections/projection-runner.js';
import { openPGliteEventStore } from '../src/store/pglite/pglite-event-store.js';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import type { SqlClient } from '../src/store/sql/sql-client.js';

const SERVER_URL = process.env.FACTUM_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = 20_000;
const STREAMS = 200;

const projection = defineProjection({
  name: 'catch-up-counts',
  tables: { counts: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` },
  handlers: {
    Counted: async (event, { sql, table }) => {
      await sql!.query(`INSERT INTO ${table('counts')} AS c VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1`, [event.streamId]);
    },
  },
});

async function fill(store: EventStore): Promise<bigint> {
  let last = 0n;
  for (let i = 0; i < EVENTS; i += 100) {
    const events = Array.from({ length: 100 }, (_, j) => ({ type: 'Counted', data: { i: i + j, note: 'a little payload to make it realistic' } }));
    last = (await store.append(`acct-${(i / 100) % STREAMS}`, events)).lastPosition;
  }
  return last;
}

/** Counts the statements sent inside the client's transactions (BEGIN and COMMIT not included). */
function countStatements(store: { client: SqlClient }): { count: number } {
  const counter = { count: 0 };
  const client = store.client as { transaction: SqlClient['transaction'] };
  const real = client.transaction.bind(store.client);
  client.transaction = (fn) =>
    real((tx) =>
      fn({
        query: (sql, params, options) => {
          counter.count++;
          return tx.query(sql, params, options);
        },
      }),
    );
  return counter;
}

async function catchUp(store: EventStore & { client: SqlClient }, head: bigint): Promise<string> {
  const counter = countStatements(store);
  const started = process.hrtime.bigint();
  const runner = await ProjectionRunner.start(store, projection);
  await runner.waitFor(head, { timeoutMs: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runner.stop();
  return `${(EVENTS / seconds).toFixed(0)} events/s, ${(counter.count / EVENTS).toFixed(2)} statements per event`;
}

async function onPostgres(): Promise<string> {
  const schema = `bench_catchup_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 4 });
  try {
    return await catchUp(store, await fill(store));
  } finally {
    await store.close();
    const client = new pg.Client({ connectionString: SERVER_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

async function onPGlite(): Promise<string> {
  const db = await PGlite.create('memory://');
  const store = await openPGliteEventStore({ dataDir: db, schema: 'bench' });
  try {
    return await catchUp(store, await fill(store));
  } finally {
    await store.close();
    await db.close();
  }
}

const runs = Number(process.argv[2] ?? 1);
for (let r = 0; r < runs; r++) {
  console.log(`postgres ${await onPostgres()}`);
  console.log(`pglite ${await onPGlite()}`);
}
