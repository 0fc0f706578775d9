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
// Every 100 events: the tail after the snapshot is then at most 99 events. Measured on 2 cores,
// a 99-event tail costs about 1 ms (PostgreSQL) to 2 ms (PGlite) on top of the round trips; with
// every 1,000 the worst case was 6-7x a 10-event load, with every 100 it is about 2x (the
// snapshot-aligned case stays near 1x whatever the stream's length).
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
  ...(snapshot ? { snapshot: { name: 'order', every: SNAPSHOT_EVERY, version: 1 } } : {}),
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

async function time(load: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await load();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Times several loads round by round, in a rotating order, so that the machine's drift (other
 * processes on these 2 cores, autovacuum, caches) hits all of them alike; the first rounds are
 * a warm-up and are not recorded.
 */
async function interleaved(rounds: number, loads: Array<() => Promise<unknown>>): Promise<number[][]> {
  const samples = loads.map(() => [] as number[]);
  const warmUp = Math.min(5, rounds);
  for (let round = 0; round < warmUp + rounds; round++) {
    for (let k = 0; k < loads.length; k++) {
      const i = (round + k) % loads.length;
      const ms = await time(loads[i]!);
      if (round >= warmUp) samples[i]!.push(ms);
    }
  }
  return samples;
}

const spreadOf = (samples: number[], m: number): number => (samples.length > 1 && m > 0 ? (Math.max(...samples) - Math.min(...samples)) / m : 0);

async function benchStore(backend: 'postgres' | 'pglite', store: EventStore, quick: boolean, log: (m: string) => void): Promise<SnapshotBenchRow[]> {
  const rows: SnapshotBenchRow[] = [];
  const snapshots = snapshotStoreFor(store);
  const withSnapshots = order(true);
  const without = order(false);
  // A quick run is a smoke test of the code path: its largest stream is 10,000 events.
  const largest = quick ? 10_000 : 100_000;
  const sizes = [10, 1000, largest];
  const label = (n: number) => n.toLocaleString('en-US');
  const snapshotSystem = `factum, snapshot every ${label(SNAPSHOT_EVERY)}`;
  // Between two snapshots the tail grows to every - 1 events: the worst case of a snapshot load.
  const tail = SNAPSHOT_EVERY - 1;

  for (const size of sizes) {
    const started = Date.now();
    await build(store, `order-${size}`, size);
    // Snapshots as handleCommand leaves them: at the latest multiple of SNAPSHOT_EVERY (none for 10 events).
    if (size >= SNAPSHOT_EVERY) await takeSnapshot(store, `order-${size}`, withSnapshots, snapshots);
    log(`${backend}: built ${label(size)} events in ${Date.now() - started} ms`);
  }
  await build(store, 'order-worst', largest);
  await takeSnapshot(store, 'order-worst', withSnapshots, snapshots);
  await store.append('order-worst', Array.from({ length: tail }, (_, i) => line(largest + i)), { expectedVersion: largest });
  log(`${backend}: built ${label(largest + tail)} events (snapshot at ${label(largest)})`);

  for (const [streamId, length] of [...sizes.map((n) => [`order-${n}`, n] as const), ['order-worst', largest + tail] as const]) {
    const check = await loadState(store, streamId, withSnapshots, { snapshots });
    if (check.state.lines !== length) throw new Error(`snapshot load of ${streamId} folded ${check.state.lines} lines, expected ${length}`);
  }

  type Case = { scenario: string; system: string; note: string; load: () => Promise<unknown> };
  const scenario = (n: number) => `7. load a ${label(n)}-event stream (loadState)`;
  const plain = (n: number): Case => ({ scenario: scenario(n), system: 'factum, no snapshot', note: `${label(n)} events folded`, load: () => loadState(store, `order-${n}`, without) });
  const snap = (n: number, note: string): Case => ({ scenario: scenario(n), system: snapshotSystem, note, load: () => loadState(store, `order-${n}`, withSnapshots, { snapshots }) });
  const fast: Case[] = [
    plain(10),
    snap(10, 'no snapshot yet: a lookup, then all events folded'),
    plain(1000),
    snap(1000, `snapshot at 1,000 + 0 events`),
    snap(largest, `snapshot at ${label(largest)} + 0 events`),
    {
      scenario: scenario(largest + tail),
      system: snapshotSystem,
      note: `worst case: snapshot at ${label(largest)} + ${tail} events`,
      load: () => loadState(store, 'order-worst', withSnapshots, { snapshots }),
    },
  ];
  const fastSamples = await interleaved(quick ? 20 : 300, fast.map((c) => c.load));
  const slow = plain(largest);
  const slowSamples = await interleaved(quick ? 2 : 5, [slow.load]);

  const medians = new Map<Case, number>();
  const measured = new Map<Case, number[]>([...fast.map((c, i) => [c, fastSamples[i]!] as const), [slow, slowSamples[0]!] as const]);
  // Table order: by stream length, without snapshots first.
  for (const c of [fast[0]!, fast[1]!, fast[2]!, fast[3]!, slow, fast[4]!, fast[5]!]) {
    const samples = measured.get(c)!;
    const m = median(samples);
    medians.set(c, m);
    rows.push({ scenario: c.scenario, system: c.system, backend, unit: 'ms', value: m, median: m, samples, spread: spreadOf(samples, m), note: c.note });
  }

  // The strictest baseline: the 10-event stream loaded with no snapshot lookup at all.
  const baseline = medians.get(fast[0]!)!;
  for (const [what, c] of [
    [`load of ${label(largest)} events / load of 10 events without snapshots`, fast[4]!],
    [`load of ${label(largest + tail)} events (worst case) / load of 10 events without snapshots`, fast[5]!],
  ] as const) {
    const value = medians.get(c)! / baseline;
    rows.push({ scenario: `7. snapshot target: ${what}`, system: snapshotSystem, backend, unit: 'x', value, median: value, note: `target <= 1.5: ${value <= 1.5 ? 'met' : 'NOT met'}` });
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
