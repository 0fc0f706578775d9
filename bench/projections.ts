/**
 * Projections on PostgreSQL, factum beside Emmett doing the same work:
 * 1. append-to-visible latency of an async projection (p50, p99) under a steady background load
 *    (target for factum: p99 under 25 ms on this machine);
 * 2. rebuild throughput of a read model over 1,000,000 events, and peak memory while rebuilding
 *    at half and at the full log (target: flat, under 256 MB). The 1,000,000-event figure uses a
 *    projection with a batch handler (one multi-row upsert per 1,000 events); factum's per-event
 *    handlers and Emmett's raw SQL projection (one statement per event) rebuild 200,000.
 *
 * Method. Both systems write the same events through their own store from a writer pool, while
 * their projection runs on a second pool (for factum a second store object, so only the
 * cross-process wake-up, NOTIFY, can wake it; Emmett polls). A probe appends one event and a
 * third connection polls the read model until the row shows: the same stopwatch for both.
 * The read model is a count per stream (an upsert per event). Emmett's projection is
 * `postgreSQLRawSQLProjection` on `postgreSQLEventStoreConsumer` (default pulling: 50 ms), rebuilt
 * with `rebuildPostgreSQLProjections`. Memory is the process's peak RSS, sampled every 50 ms.
 *
 * Run alone with `npx tsx bench/projections.ts [--quick]`; `npm run bench` calls `runProjectionBench`.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { openPostgresEventStore, type PostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { defineProjection, type Projection } from '../src/projections/projection.js';
import { ProjectionRunner } from '../src/projections/projection-runner.js';
import { rebuildProjection } from '../src/projections/rebuild.js';

export interface ProjectionBenchRow {
  scenario: string;
  system: string;
  value: number;
  unit: string;
  note?: string;
}

const SERVER_URL = process.env.FACTUM_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DATABASE = 'factum_bench_projections';

interface Sizes {
  probes: number;
  /** Background appends per second (one event each), from two writers. */
  backgroundRate: number;
  /** The log of the batch-handler rebuild (the 1,000,000-event figure). */
  rebuildEvents: number;
  /**
   * The log of the one-statement-per-event rebuilds (factum's handlers and Emmett's raw SQL
   * projection): smaller, because at a few thousand events a second 1,000,000 would take many
   * minutes per system; the rate and the memory curve are what they show.
   */
  perEventRebuildEvents: number;
  appendSize: number;
}

const sizes = (quick: boolean): Sizes =>
  quick
    ? { probes: 40, backgroundRate: 100, rebuildEvents: 20_000, perEventRebuildEvents: 10_000, appendSize: 500 }
    : { probes: 400, backgroundRate: 200, rebuildEvents: 1_000_000, perEventRebuildEvents: 200_000, appendSize: 1000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function databaseUrl(): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function freshDatabase(): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${DATABASE}`);
}

/** Peak resident memory while `fn` runs, sampled every 50 ms. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peakMb: peak / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

/** Steady background appends until stopped. */
function backgroundLoad(rate: number, append: (i: number) => Promise<unknown>): { stop: () => Promise<void> } {
  let running = true;
  const writers = 2;
  const interval = (1000 * writers) / rate;
  const loops = Array.from({ length: writers }, async (_, w) => {
    let i = w;
    let next = Date.now();
    while (running) {
      await append(i);
      i += writers;
      next += interval;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      else next = Date.now();
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Appends a probe, then polls the read model until it shows; returns the latencies in ms. */
async function probeLatencies(probes: number, append: (stream: string) => Promise<unknown>, visible: (stream: string) => Promise<boolean>): Promise<number[]> {
  const latencies: number[] = [];
  for (let k = 0; k < probes; k++) {
    const stream = `probe-${k}`;
    const start = process.hrtime.bigint();
    await append(stream);
    const deadline = Date.now() + 30_000;
    while (!(await visible(stream))) if (Date.now() > deadline) throw new Error(`probe ${stream} never became visible`);
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    await sleep(20);
  }
  return latencies;
}

const countsProjection = (): Projection =>
  defineProjection({
    name: 'bench-counts',
    tables: { bench_counts: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` },
    handlers: {
      Counted: async (event, { sql, table }) => {
        await sql!.query(`INSERT INTO ${table('bench_counts')} AS c VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1`, [event.streamId]);
      },
    },
  });

/** The same read model, applied a batch at a time: one multi-row upsert per batch. */
const batchedCountsProjection = (): Projection =>
  defineProjection({
    ...countsProjection(),
    batchHandler: async (events, { sql, table }) => {
      const perStream = new Map<string, number>();
      for (const e of events) perStream.set(e.streamId, (perStream.get(e.streamId) ?? 0) + 1);
      await sql!.query(
        `INSERT INTO ${table('bench_counts')} AS c SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + excluded.n`,
        [[...perStream.keys()], [...perStream.values()]],
      );
    },
  });

const counted = (i: number) => ({ type: 'Counted', data: { i, note: 'a little payload to make it realistic' } });

/** factum's read-your-writes: `runner.waitFor(lastPosition)` instead of polling the table. */
let factumWaitForLatencies: number[] = [];

async function factumLatency(s: Sizes, poller: pg.Pool): Promise<number[]> {
  const writer = await openPostgresEventStore({ connection: databaseUrl(), schema: 'factum_latency', maxConnections: 4 });
  const reader = await openPostgresEventStore({ connection: databaseUrl(), schema: 'factum_latency', maxConnections: 4 });
  const runner = await new ProjectionRunner(reader, countsProjection()).start();
  const load = backgroundLoad(s.backgroundRate, (i) => writer.append(`bg-${i % 100}`, [counted(i)]));
  try {
    await sleep(500);
    const polled = await probeLatencies(
      s.probes,
      (stream) => writer.append(stream, [counted(0)]),
      async (stream) => (await poller.query(`SELECT 1 FROM factum_latency.bench_counts WHERE stream_id = $1`, [stream])).rows.length > 0,
    );
    factumWaitForLatencies = [];
    for (let k = 0; k < s.probes; k++) {
      const start = process.hrtime.bigint();
      const { lastPosition } = await writer.append(`waited-${k}`, [counted(0)]);
      await runner.waitFor(lastPosition, { timeoutMs: 10_000 });
      factumWaitForLatencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      await sleep(20);
    }
    return polled;
  } finally {
    await load.stop();
    await runner.stop();
    await writer.close();
    await reader.close();
  }
}

async function fillFactum(store: PostgresEventStore, from: number, to: number, appendSize: number): Promise<void> {
  for (let i = from; i < to; i += appendSize) {
    await store.append(`acct-${(i / appendSize) % 5000}`, Array.from({ length: Math.min(appendSize, to - i) }, (_, j) => counted(i + j)));
  }
}

async function factumRebuild(s: Sizes, events: number, projection: Projection, schema: string): Promise<{ rate: number; peakHalf: number; peakFull: number }> {
  const store = await openPostgresEventStore({ connection: databaseUrl(), schema, maxConnections: 4 });
  try {
    const half = events / 2;
    await fillFactum(store, 0, half, s.appendSize);
    const first = await peakRss(() => rebuildProjection(store, projection, { batchSize: 1000 }));
    await fillFactum(store, half, events, s.appendSize);
    const started = Date.now();
    const second = await peakRss(() => rebuildProjection(store, projection, { batchSize: 1000 }));
    const seconds = (Date.now() - started) / 1000;
    return { rate: second.result.eventsDone / seconds, peakHalf: first.peakMb, peakFull: second.peakMb };
  } finally {
    await store.close();
  }
}

// ---- Emmett -------------------------------------------------------------------------------

async function emmettModules() {
  const emmettPg = await import('@event-driven-io/emmett-postgresql');
  const dumbo = await import('@event-driven-io/dumbo');
  return { emmettPg, dumbo };
}

function emmettProjection(m: Awaited<ReturnType<typeof emmettModules>>) {
  return m.emmettPg.postgreSQLRawSQLProjection({
    name: 'bench-counts',
    canHandle: ['Counted'],
    init: () => m.dumbo.rawSql(`CREATE TABLE IF NOT EXISTS emmett_counts (stream_id text PRIMARY KEY, n integer NOT NULL)`),
    evolve: (event: any) =>
      m.dumbo.sql(
        `INSERT INTO emmett_counts AS c VALUES (%L, 1) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1`,
        event.metadata.streamName as string,
      ),
  } as any);
}

async function emmettLatency(s: Sizes, poller: pg.Pool): Promise<number[]> {
  const m = await emmettModules();
  const url = databaseUrl();
  const writerPool = new pg.Pool({ connectionString: url, max: 4 });
  writerPool.on('error', () => {});
  const store = m.emmettPg.getPostgreSQLEventStore(url, { connectionOptions: { pool: writerPool } } as any);
  await store.schema.migrate();
  await poller.query(`CREATE TABLE IF NOT EXISTS emmett_counts (stream_id text PRIMARY KEY, n integer NOT NULL)`);
  const consumer = m.emmettPg.postgreSQLEventStoreConsumer({ connectionString: url } as any);
  (consumer as any).projector({ projection: emmettProjection(m), startFrom: 'BEGINNING' });
  const started = consumer.start();
  const load = backgroundLoad(s.backgroundRate, (i) => store.appendToStream(`bg-${i % 100}`, [counted(i) as any]));
  try {
    await sleep(500);
    return await probeLatencies(
      s.probes,
      (stream) => store.appendToStream(stream, [counted(0) as any]),
      async (stream) => (await poller.query(`SELECT 1 FROM emmett_counts WHERE stream_id = $1`, [stream])).rows.length > 0,
    );
  } finally {
    await load.stop();
    await consumer.stop();
    await started.catch(() => {});
    await consumer.close?.();
    await writerPool.end();
  }
}

async function emmettRebuild(s: Sizes): Promise<{ rate: number; peakHalf: number; peakFull: number }> {
  const m = await emmettModules();
  const url = databaseUrl();
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  const store = m.emmettPg.getPostgreSQLEventStore(url, { connectionOptions: { pool } } as any);
  await store.schema.migrate();
  await store.schema.dangerous.truncate({ resetSequences: true });
  const fill = async (from: number, to: number) => {
    for (let i = from; i < to; i += s.appendSize) {
      await store.appendToStream(`acct-${(i / s.appendSize) % 5000}`, Array.from({ length: Math.min(s.appendSize, to - i) }, (_, j) => counted(i + j) as any));
    }
  };
  const rebuild = async () => {
    await pool.query('DROP TABLE IF EXISTS emmett_counts');
    await pool.query('CREATE TABLE emmett_counts (stream_id text PRIMARY KEY, n integer NOT NULL)');
    // Emmett's rebuild resumes from the projection's stored checkpoint: start each one from scratch.
    await pool.query('DELETE FROM emt_processors');
    const consumer = m.emmettPg.rebuildPostgreSQLProjections({ connectionString: url, projection: emmettProjection(m), pulling: { batchSize: 1000 } } as any);
    await consumer.start();
    await consumer.close?.();
  };
  try {
    const events = s.perEventRebuildEvents;
    const half = events / 2;
    await fill(0, half);
    const first = await peakRss(rebuild);
    await fill(half, events);
    const started = Date.now();
    const second = await peakRss(rebuild);
    const seconds = (Date.now() - started) / 1000;
    const { rows } = await pool.query<{ n: string }>('SELECT coalesce(sum(n), 0) AS n FROM emmett_counts');
    if (Number(rows[0]!.n) !== events) throw new Error(`Emmett rebuilt ${rows[0]!.n} of ${events} events`);
    return { rate: events / seconds, peakHalf: first.peakMb, peakFull: second.peakMb };
  } finally {
    await pool.end();
  }
}

// ---- the run ------------------------------------------------------------------------------

/** Runs both scenarios for factum and Emmett; one row per figure. */
export async function runProjectionBench(options: { quick: boolean }): Promise<ProjectionBenchRow[]> {
  const s = sizes(options.quick);
  const rows: ProjectionBenchRow[] = [];
  try {
    await freshDatabase();
  } catch (error) {
    return [{ scenario: 'projections', system: 'factum', value: NaN, unit: '', note: `PostgreSQL unreachable: ${(error as Error).message}` }];
  }
  const poller = new pg.Pool({ connectionString: databaseUrl(), max: 1 });
  poller.on('error', () => {});
  const latencyScenario = `append-to-visible latency, async projection, ${s.backgroundRate} appends/s background`;
  const rebuildScenario = (events: number) => `rebuild ${events.toLocaleString('en-US')} events`;
  const systems: Array<[string, () => Promise<number[]>, number, () => Promise<{ rate: number; peakHalf: number; peakFull: number }>]> = [
    ['factum', () => factumLatency(s, poller), s.perEventRebuildEvents, () => factumRebuild(s, s.perEventRebuildEvents, countsProjection(), 'factum_rebuild')],
    ['factum (batch handler)', async () => [], s.rebuildEvents, () => factumRebuild(s, s.rebuildEvents, batchedCountsProjection(), 'factum_rebuild_batched')],
    ['emmett', () => emmettLatency(s, poller), s.perEventRebuildEvents, () => emmettRebuild(s)],
  ];
  try {
    for (const [system, latency, events, rebuild] of systems) {
      const rebuilding = rebuildScenario(events);
      try {
        const latencies = await latency();
        if (latencies.length > 0) rows.push({ scenario: `${latencyScenario}: p50`, system, value: percentile(latencies, 50), unit: 'ms' });
        if (latencies.length > 0) rows.push({ scenario: `${latencyScenario}: p99`, system, value: percentile(latencies, 99), unit: 'ms', ...(system === 'factum' ? { note: 'target < 25 ms' } : {}) });
        if (system === 'factum' && factumWaitForLatencies.length > 0) {
          for (const p of [50, 99]) {
            rows.push({ scenario: `${latencyScenario}: p${p}`, system: 'factum (waitFor)', value: percentile(factumWaitForLatencies, p), unit: 'ms', note: 'read-your-writes: runner.waitFor, no polling' });
          }
        }
      } catch (error) {
        rows.push({ scenario: latencyScenario, system, value: NaN, unit: 'ms', note: `failed: ${(error as Error).message}` });
      }
      try {
        const r = await rebuild();
        rows.push({ scenario: `${rebuilding}: throughput`, system, value: r.rate, unit: 'events/s' });
        rows.push({ scenario: `${rebuilding}: peak RSS at half the log`, system, value: r.peakHalf, unit: 'MB' });
        rows.push({ scenario: `${rebuilding}: peak RSS at the full log`, system, value: r.peakFull, unit: 'MB', ...(system.startsWith('factum') ? { note: 'target flat, < 256 MB' } : {}) });
      } catch (error) {
        rows.push({ scenario: rebuilding, system, value: NaN, unit: 'events/s', note: `failed: ${(error as Error).message}` });
      }
    }
  } finally {
    await poller.end();
    await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`).catch(() => {});
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runProjectionBench({ quick: process.argv.includes('--quick') });
  console.table(rows.map((r) => ({ ...r, value: Number.isFinite(r.value) ? Number(r.value.toFixed(2)) : r.value })));
  process.exit(0);
}
