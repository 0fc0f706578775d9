/**
 * Loading a stream of 10, 1,000 and 100,000 events with and without snapshots, on PostgreSQL
 * and PGlite. Target (issue 3): with snapshots, the 100,000-event stream loads within 1.5x the
 * time of the 10-event one.
 *
 * Run alone with `npx tsx bench/snapshots.ts [--quick]` (prints a table), or through
 * `npm run bench`, which calls `runSnapshotBench`. A load is `loadState`: the snapshot (when
 * used), the stream's head, and the events after the snapshot folded by the decider, exactly
 * what `handleCommand` does before deciding.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { EventStore } from '../src/core/event-store.js';
import type { NewEvent } from '../src/core/message.js';
import type { Decider } from '../src/domain/decider.js';
import { loadState, takeSnapshot } from '../src/domain/load-state.js';
import { snapshotStoreFor } from '../src/domain/snapshots/snapshot-store-for.js';
import { openPGliteEventStore } from '../src/store/pglite/pglite-event-store.js';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';

/** One figure; `backend`, `median`, `samples` and `spread` let bench/run.ts print it beside its own rows. */
export interface SnapshotBenchRow {
  scenario: string;
  system: string;
  value: number;
  unit: string;
  backend: 'postgres' | 'pglite';
  median: number;
  samples?: number[];
  spread?: number;
  note?: string;
}

const SERVER_URL = process.env.FACTUM_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Every 100 events: the tail after the snapshot is then at most 99 events, which reads about as
// fast as a 10-event stream (every 1,000 would leave up to 999, several times slower at worst).
const SNAPSHOT_EVERY = 100;
const BATCH = 10_000;

type Line = NewEvent<'LineAdded', { sku: string; quantity: number; price: number; note: string }>;
interface Totals {
  lines: number;
  quantity: number;
  amount: number;
  lastSku: string;
}

// A realistic fold: a few numbers and a string, from ~100 bytes of JSON per event.
const order = (snapshot: boolean): Decider<Totals, never, Line> => ({
  name: 'order',
  initialState: () => ({ lines: 0, quantity: 0, amount: 0, lastSku: '' }),
  evolve: (s, e) => ({ lines: s.lines + 1, quantity: s.quantity + e.data.quantity, amount: s.amount + e.data.quantity * e.data.price, lastSku: e.data.sku }),
  decide: () => [],
  ...(snapshot ? { snapshot: { every: SNAPSHOT_EVERY, version: 1 } } : {}),
});

const line = (i: number): Line => ({ type: 'LineAdded', data: { sku: `sku-${i % 977}`, quantity: (i % 5) + 1, price: 9.99, note: 'gift wrap, leave at the door' } });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function build(store: EventStore, streamId: string, length: number): Promise<void> {
  for (let from = 0; from < length; from += BATCH) {
    const count = Math.min(BATCH, length - from);
    await store.append(streamId, Array.from({ length: count }, (_, i) => line(from + i)), { expectedVersion: from });
  }
}

async function timeLoads(runs: number, load: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(3, runs); i++) await load(); // warm-up: plans, caches, JIT
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await load();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples;
}

async function benchStore(backend: 'postgres' | 'pglite', store: EventStore, quick: boolean, log: (m: string) => void): Promise<SnapshotBenchRow[]> {
  const rows: SnapshotBenchRow[] = [];
  const snapshots = snapshotStoreFor(store);
  const withSnapshots = order(true);
  const without = order(false);
  // A quick run is a smoke test of the code path: its largest stream is 10,000 events.
  const sizes = quick ? [10, 1000, 10_000] : [10, 1000, 100_000];
  const largest = sizes[sizes.length - 1]!;
  const loads = new Map<number, number>();
  const label = (n: number) => n.toLocaleString('en-US');
  const withSnapshotName = `factum, snapshot every ${label(SNAPSHOT_EVERY)}`;
  const push = (scenario: string, system: string, samples: number[], note: string) => {
    const m = median(samples);
    rows.push({ scenario, system, backend, unit: 'ms', value: m, median: m, samples, spread: samples.length > 1 ? (Math.max(...samples) - Math.min(...samples)) / m : 0, note });
    return m;
  };
  const smallRuns = quick ? 10 : 100;
  let baseline = 0;
  for (const size of sizes) {
    const streamId = `order-${size}`;
    const started = Date.now();
    await build(store, streamId, size);
    // Snapshots as handleCommand leaves them: the latest multiple of SNAPSHOT_EVERY (none for 10 events).
    if (size >= SNAPSHOT_EVERY) await takeSnapshot(store, streamId, withSnapshots, snapshots);
    log(`${backend}: built ${label(size)} events in ${Date.now() - started} ms`);

    const plain = await timeLoads(size >= 100_000 ? 5 : size >= 10_000 ? 3 : smallRuns, () => loadState(store, streamId, without));
    const snap = await timeLoads(smallRuns, () => loadState(store, streamId, withSnapshots, { snapshots }));
    const check = await loadState(store, streamId, withSnapshots, { snapshots });
    if (check.state.lines !== size) throw new Error(`snapshot load of ${streamId} folded ${check.state.lines} lines, expected ${size}`);
    const scenario = `7. load a ${label(size)}-event stream (loadState)`;
    const plainMedian = push(scenario, 'factum, no snapshot', plain, `${label(size)} events folded`);
    // The strictest baseline: the 10-event stream loaded with no snapshot lookup at all.
    if (size === 10) baseline = plainMedian;
    loads.set(size, push(scenario, withSnapshotName, snap, check.fromSnapshot ? `snapshot at ${label(check.fromSnapshot)} + ${check.eventsFolded} events` : 'no snapshot yet: all events folded'));
  }

  // Between two snapshots the tail grows to every - 1 events: the worst case of a snapshot load.
  const tail = SNAPSHOT_EVERY - 1;
  await store.append(`order-${largest}`, Array.from({ length: tail }, (_, i) => line(largest + i)), { expectedVersion: largest });
  const worst = await timeLoads(smallRuns, () => loadState(store, `order-${largest}`, withSnapshots, { snapshots }));
  const worstMedian = push(`7. load a ${label(largest + tail)}-event stream (loadState)`, withSnapshotName, worst, `worst case: snapshot at ${label(largest)} + ${tail} events`);

  for (const [what, value] of [
    [`load of ${label(largest)} events / load of 10 events without snapshots`, loads.get(largest)! / baseline],
    [`load of ${label(largest + tail)} events (worst case) / load of 10 events without snapshots`, worstMedian / baseline],
  ] as const) {
    rows.push({ scenario: `7. snapshot target: ${what}`, system: withSnapshotName, backend, unit: 'x', value, median: value, note: `target <= 1.5: ${value <= 1.5 ? 'met' : 'NOT met'}` });
  }
  return rows;
}

/**
 * Runs the snapshot benchmark on PostgreSQL (when reachable, in a schema of its own that is
 * dropped afterwards) and on PGlite (in a temporary directory).
 *
 * @example
 * const rows = await runSnapshotBench({ quick: true })
 */
export async function runSnapshotBench(options: { quick: boolean }, log: (message: string) => void = () => {}): Promise<SnapshotBenchRow[]> {
  const rows: SnapshotBenchRow[] = [];
  const schema = `bench_snap_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  let reachable = true;
  const probe = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  try {
    await probe.connect();
  } catch (error) {
    reachable = false;
    log(`PostgreSQL skipped: ${(error as Error).message}`);
  }
  try {
    if (reachable) {
      const store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 4 });
      try {
        rows.push(...(await benchStore('postgres', store, options.quick, log)));
      } finally {
        await store.close();
      }
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-snapbench-'));
    try {
      const store = await openPGliteEventStore({ dataDir: dir });
      try {
        rows.push(...(await benchStore('pglite', store, options.quick, log)));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    if (reachable) {
      await probe.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await probe.end();
    }
  }
  return rows;
}

function table(rows: SnapshotBenchRow[]): string {
  const head = ['backend', 'scenario', 'system', 'median', 'spread', 'note'];
  const body = rows.map((r) => [r.backend, r.scenario, r.system, `${r.value.toFixed(r.unit === 'x' ? 2 : 1)} ${r.unit}`, r.spread === undefined ? '' : `±${((r.spread * 100) / 2).toFixed(0)}%`, r.note ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const started = Date.now();
  const rows = await runSnapshotBench({ quick }, (m) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`));
  console.log(`\nSnapshot benchmark (${quick ? 'quick' : 'full'}), ${os.cpus().length} cores\n`);
  console.log(table(rows));
}
