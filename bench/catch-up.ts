/**
 * Catch-up of an async projection: a log of 20,000 events already written, then a
 * `ProjectionRunner` started from nothing, timed until its checkpoint reaches the head. The read
 * model is a count per stream, one upsert per event (the per-event handler path, batches of 100
 * events per transaction), on PostgreSQL and on PGlite. It measures what a delivery costs per
 * event beside the handler's own statement (a savepoint, a release, a commit): besides the rate
 * it counts the statements the runner's transactions sent per event, a figure that, unlike the
 * rate, does not move with the load of a shared machine.
 *
 * `npm run bench` runs it as scenario 7 (`--quick`: 2,000 events, one round). Alone:
 * `npx tsx bench/catch-up.ts [rounds]`. It uses only what main has had since sqlAccess and
 * `new ProjectionRunner(...).start()`, so the same file measures before and after a change:
 * copy it and test/runner-suites/transaction-log.ts into the other worktree and run both,
 * interleaved.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { EventStore } from '../src/core/event-store.js';
import { defineProjection } from '../src/projections/projection.js';
import { ProjectionRunner } from '../src/projections/projection-runner.js';
import { openPGliteEventStore } from '../src/store/pglite/pglite-event-store.js';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { logTransactions } from '../test/runner-suites/transaction-log.js';
import { SERVER_URL } from './bench-database.js';
import { measuredRow, type BenchRow } from './bench-row.js';

const STREAMS = 200;
const APPEND_SIZE = 100;

const projection = defineProjection({
  name: 'catch-up-counts',
  tables: { counts: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` },
  handlers: {
    Counted: async (event, { sql, table }) => {
      await sql!.query(`INSERT INTO ${table('counts')} AS c VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1`, [event.streamId]);
    },
  },
});

async function fill(store: EventStore, events: number): Promise<bigint> {
  let last = 0n;
  for (let i = 0; i < events; i += APPEND_SIZE) {
    const batch = Array.from({ length: APPEND_SIZE }, (_, j) => ({ type: 'Counted', data: { i: i + j, note: 'a little payload to make it realistic' } }));
    last = (await store.append(`acct-${(i / APPEND_SIZE) % STREAMS}`, batch)).lastPosition;
  }
  return last;
}

/** One catch-up of `events` on a fresh store: events per second, and statements per event. */
async function catchUp(store: EventStore, events: number): Promise<{ rate: number; statements: number }> {
  const head = await fill(store, events);
  const log = logTransactions(store);
  const started = process.hrtime.bigint();
  const runner = await new ProjectionRunner(store, projection).start();
  await runner.waitFor(head, { timeoutMs: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runner.stop();
  return { rate: events / seconds, statements: log.flat().length / events };
}

async function onPostgres(events: number): Promise<{ rate: number; statements: number }> {
  const schema = `bench_catchup_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 4 });
  try {
    return await catchUp(store, events);
  } finally {
    await store.close();
    const client = new pg.Client({ connectionString: SERVER_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

async function onPGlite(events: number): Promise<{ rate: number; statements: number }> {
  // A directory from the template: a fresh in-memory PGlite would spend ~10 s in initdb first.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-catchup-'));
  const store = await openPGliteEventStore({ dataDir: dir });
  try {
    return await catchUp(store, events);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function reachable(): Promise<string | undefined> {
  const probe = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  try {
    await probe.connect();
    await probe.end();
    return undefined;
  } catch (error) {
    return `PostgreSQL unreachable at ${SERVER_URL}: ${(error as Error).message}`;
  }
}

/**
 * The catch-up rows of `npm run bench`: one per store, the rounds interleaved between them.
 *
 * @example
 * const rows = await runCatchUpBench({ quick: true })
 */
export async function runCatchUpBench(options: { quick: boolean; rounds?: number }, log: (message: string) => void = () => {}): Promise<BenchRow[]> {
  const events = options.quick ? 2_000 : 20_000;
  const rounds = options.rounds ?? (options.quick ? 1 : 3);
  const scenario = `7. projection catch-up, ${events.toLocaleString('en-US')} events, one upsert each`;
  const pgSkip = await reachable();
  const runs = new Map<BenchRow['backend'], (n: number) => Promise<{ rate: number; statements: number }>>([['pglite', onPGlite]]);
  if (!pgSkip) runs.set('postgres', onPostgres);
  const results = new Map<BenchRow['backend'], Array<{ rate: number; statements: number }>>();
  for (let round = 0; round < rounds; round++) {
    for (const [backend, run] of runs) {
      const result = await run(events);
      log(`${backend} round ${round + 1}: ${result.rate.toFixed(0)} events/s, ${result.statements.toFixed(2)} statements per event`);
      results.set(backend, [...(results.get(backend) ?? []), result]);
    }
  }
  const rows: BenchRow[] = [...results].map(([backend, samples]) =>
    measuredRow(
      { scenario, backend, system: 'factum', unit: 'events/s', extra: { 'statements/event': Number(samples[0]!.statements.toFixed(2)) } },
      samples.map((s) => s.rate),
    ),
  );
  if (pgSkip) rows.push({ scenario, backend: 'postgres', system: 'factum', unit: '', note: `skipped: ${pgSkip}` });
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = Number(process.argv[2] ?? 1);
  for (const row of await runCatchUpBench({ quick: false, rounds }, console.log)) {
    console.log(`${row.backend} median ${row.median?.toFixed(0) ?? '-'} events/s over ${row.samples?.length ?? 0} rounds, ${row.extra?.['statements/event'] ?? '-'} statements per event${row.note ? ` (${row.note})` : ''}`);
  }
}
