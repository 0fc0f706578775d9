/**
 * `npm run bench [-- --quick] [-- --only=1,5]`: every scenario of issue 5 on PostgreSQL and,
 * where it applies, on the embedded PGlite store; factum beside the raw driver, Emmett and
 * Castore, in one run; then the snapshot, relay (every broker), broker-consume and end-to-end latency (every broker) benchmarks. Prints one table and
 * writes bench/results/latest.{json,md} (a quick or partial run writes latest-partial.*.tmp
 * instead, so it never replaces the committed full results).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { benchConfig } from './bench-config.js';
import { benchPool, benchUrl, BENCH_DATABASE, createBenchDatabase, dropBenchDatabase } from './bench-database.js';
import { addRatios, type BenchRow } from './bench-row.js';
import { runCatchUpBench } from './catch-up.js';
import { checkTargets, markdown, targetLines, textTable } from './report.js';
import { appendNewStreams } from './scenarios/append-new-streams.js';
import { bulkImport } from './scenarios/bulk-import.js';
import { hotStream } from './scenarios/hot-stream.js';
import { loadStream } from './scenarios/load-stream.js';
import { readAll } from './scenarios/read-all.js';
import type { ScenarioContext } from './scenarios/scenario.js';
import type { BenchSystem } from './systems/bench-system.js';
import { CastoreSystem } from './systems/castore-system.js';
import { EmmettSystem } from './systems/emmett-system.js';
import { FactumSystem } from './systems/factum-system.js';
import { RawSystem } from './systems/raw-system.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',').map(Number);
/** `--systems=factum,raw,raw-prepared` and `--backends=postgres`: run a subset (for profiling; the published run uses all). */
const listArg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3).split(',');
const onlySystems = listArg('systems');
const onlyBackends = listArg('backends');
const config = benchConfig(quick);
const started = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

/** Pool size of every PostgreSQL system: enough for the 16 concurrent writers of scenario 1. */
const POOL_SIZE = 16;
/** factum's import: 10,000-event appends from 2 writers was its fastest setting on this 2-core machine. */
const FACTUM_IMPORT_WRITERS = Number(process.env.FACTUM_BENCH_IMPORT_WRITERS ?? 2);

const METHOD = [
  'Every system writes the same events: a UUID, a type, ~160 bytes of JSON data, ~110 bytes of JSON metadata.',
  'PostgreSQL systems run on one dedicated database on the same server, each with a pool of 16 connections; PGlite systems share one PGlite instance in a temporary directory (factum and the raw table in two schemas). Each scenario starts from empty tables.',
  'raw = the pg driver (or PGlite\'s query) doing the least work that gives the same guarantee: INSERT ... RETURNING global_position into a table with factum\'s columns and unique constraints (PRIMARY KEY global_position from a sequence, UNIQUE event_id, UNIQUE (stream_id, stream_version)); keyset SELECT ordered by position, 1,000 rows per page; COPY FROM STDIN for the import. Its statements go as pool.query(text, values) sends them, parsed and planned on every call; raw-prepared (PostgreSQL) sends the same ones as named prepared statements, as factum does: what that alone is worth. Targets are against raw.',
  'factum on PostgreSQL sends concurrent single-event appends to different streams together, up to 64 in one INSERT (README, "Choosing a store"); raw and the peers send one statement per append.',
  'Appends to new streams use each system\'s "stream must be new" check (factum no_stream, Emmett expectedStreamVersion 0n, Castore/raw version 1 under the unique constraint); batches are one append call (Castore: pushEventGroup).',
  `Timed scenarios (1-4): one unrecorded warm-up per system, then ${config.rounds} rounds of ${config.roundMs} ms per system, the systems interleaved in rotating order so machine drift hits all alike. Scenario 5: one full warm-up read, then ${config.readAllRounds} timed full reads. Scenario 6: a warm-up import of a tenth, then ${config.importRounds} timed imports.`,
  'Median = median of the rounds; spread = ±half the range of the rounds, relative to the median; vs raw = median / raw driver median on the same backend in the same run.',
  'Hot stream (3): each writer appends with the version it last saw; on a conflict it reads the events it missed (readStream / getEvents / SELECT) and retries. Throughput counts successful appends.',
  'Emmett\'s driver layer replaces pg\'s process-wide parsers of int8 and json(b); factum and raw use pools with pg\'s default parsers so Emmett\'s settings do not slow them down.',
];

async function openSystems(pgSkip: string | undefined, pgliteDir: string): Promise<{ systems: BenchSystem[]; cleanup: () => Promise<void>; pgVersion?: string }> {
  const systems: BenchSystem[] = [];
  const closers: Array<() => Promise<void>> = [];
  let pgVersion: string | undefined;
  if (!pgSkip) {
    const factumPool = benchPool(POOL_SIZE);
    const rawPool = benchPool(POOL_SIZE);
    const rawPreparedPool = benchPool(POOL_SIZE);
    closers.push(() => factumPool.end(), () => rawPool.end(), () => rawPreparedPool.end());
    pgVersion = (await rawPool.query<{ v: string }>(`SELECT current_setting('server_version') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', shared_buffers=' || current_setting('shared_buffers') AS v`)).rows[0]!.v;
    systems.push(await FactumSystem.postgres(factumPool, FACTUM_IMPORT_WRITERS), await RawSystem.postgres(rawPool), await RawSystem.postgres(rawPreparedPool, true));
    log('  opened factum, raw and raw with prepared statements on PostgreSQL');
    systems.push(await EmmettSystem.open(benchUrl(), POOL_SIZE), await CastoreSystem.open(benchUrl(), POOL_SIZE));
    log('  opened Emmett and Castore');
  }
  const db = await PGlite.create(pgliteDir);
  closers.push(() => db.close());
  systems.push(await FactumSystem.pglite(db), await RawSystem.pglite(db));
  log('  opened factum and raw on PGlite');
  return {
    systems,
    pgVersion,
    async cleanup() {
      for (const system of systems) await system.close().catch(() => {});
      for (const close of closers) await close().catch(() => {});
    },
  };
}

type SideBench = (options: { quick: boolean }, log: (message: string) => void) => Promise<BenchRow[]>;

/** A bench of its own file, run after the scenarios; a failure becomes its row (and the run's exit code), so the rest still run. */
async function sideBench(scenario: string, load: () => Promise<SideBench>): Promise<BenchRow[]> {
  try {
    return await (await load())({ quick }, (message) => log(`  ${message}`));
  } catch (error) {
    return [{ scenario, backend: 'postgres', system: 'factum', unit: '', note: `failed: ${(error as Error).message}` }];
  }
}

async function versionOf(pkg: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(path.join(here, '..', 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function main(): Promise<number> {
  log(`factum benchmarks (${quick ? 'quick smoke run' : 'full run'}) on ${os.cpus().length} cores`);
  const pgSkip = await createBenchDatabase();
  if (pgSkip) log(`PostgreSQL systems skipped: ${pgSkip}`);
  // On disk as users run it; the smoke run saves PGlite's initdb of a directory (~10 s here).
  const pgliteDir = quick ? 'memory://' : await mkdtemp(path.join(os.tmpdir(), 'factum-bench-'));
  const { systems, cleanup, pgVersion } = await openSystems(pgSkip, pgliteDir);
  const selected = systems.filter((s) => (!onlySystems || onlySystems.includes(s.name)) && (!onlyBackends || onlyBackends.includes(s.backend)));
  const ctx: ScenarioContext = { config, systems: selected, log };
  const scenarios: Array<[number, string, () => Promise<BenchRow[]>]> = [
    [1, '1. single-event appends, new streams, 1 writer', () => appendNewStreams(ctx, '1. single-event appends, new streams, 1 writer', 1, 1)],
    [1, '1. single-event appends, new streams, 16 writers', () => appendNewStreams(ctx, '1. single-event appends, new streams, 16 writers', 1, 16)],
    [2, '2. 100-event appends, new streams, 1 writer', () => appendNewStreams(ctx, '2. 100-event appends, new streams, 1 writer', 100, 1)],
    [2, '2. 100-event appends, new streams, 4 writers', () => appendNewStreams(ctx, '2. 100-event appends, new streams, 4 writers', 100, 4)],
    [3, '3. hot stream, expected version, 8 writers', () => hotStream(ctx, '3. hot stream, expected version, 8 writers', 8)],
    [4, `4. load a ${config.streamLength.toLocaleString('en-US')}-event stream`, () => loadStream(ctx, `4. load a ${config.streamLength.toLocaleString('en-US')}-event stream`)],
    [5, `5. read $all from the start, ${config.readAllEvents.toLocaleString('en-US')} events`, () => readAll(ctx, `5. read $all from the start, ${config.readAllEvents.toLocaleString('en-US')} events`)],
    [6, `6. bulk import, ${config.importEvents.toLocaleString('en-US')} events`, () => bulkImport(ctx, `6. bulk import, ${config.importEvents.toLocaleString('en-US')} events`)],
  ];
  const rows: BenchRow[] = [];
  try {
    for (const [n, name, run] of scenarios) {
      if (only && !only.includes(n)) continue;
      log(name);
      rows.push(...(await run()));
    }
    if (!only || only.includes(7)) {
      log('7. projection catch-up (bench/catch-up.ts)');
      rows.push(...(await sideBench('7. projection catch-up', async () => runCatchUpBench)));
    }
    if (!only) {
      log('snapshots (bench/snapshots.ts)');
      rows.push(...(await sideBench('snapshots', async () => (await import('./snapshots.js')).runSnapshotBench)));
      log('relay (bench/relay.ts)');
      rows.push(...(await sideBench('relay', async () => (await import('./relay.js')).runRelayBench)));
      log('broker consume (bench/broker-consume.ts)');
      rows.push(...(await sideBench('broker consume', async () => (await import('./broker-consume.js')).runBrokerConsumeBench)));
      log('end-to-end latency (bench/end-to-end-latency.ts)');
      rows.push(...(await sideBench('end-to-end latency', async () => (await import('./end-to-end-latency.js')).runEndToEndLatencyBench)));
    }
  } finally {
    await cleanup();
    if (!quick) await rm(pgliteDir, { recursive: true, force: true });
    if (!pgSkip) await dropBenchDatabase().catch(() => {});
  }
  if (pgSkip) {
    for (const name of ['factum', 'raw', 'emmett', 'castore']) rows.push({ scenario: 'all', backend: 'postgres', system: name, unit: '', note: `skipped: ${pgSkip}` });
  }
  addRatios(rows);
  const checks = checkTargets(rows);

  console.log(`\n${textTable(rows)}\n\nTargets:\n${targetLines(checks).join('\n')}\n`);
  const meta = {
    date: new Date().toISOString(),
    quick,
    seconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
      memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      postgresql: pgVersion ?? `not run (${pgSkip})`,
      versions: `pg ${await versionOf('pg')}, @electric-sql/pglite ${await versionOf('@electric-sql/pglite')}, @event-driven-io/emmett-postgresql ${await versionOf('@event-driven-io/emmett-postgresql')}, @castore/event-storage-adapter-postgres ${await versionOf('@castore/event-storage-adapter-postgres')}`,
      database: `${BENCH_DATABASE} (created and dropped by the run)`,
    },
  };
  // Only a full run of everything replaces the committed results.
  const partial = quick || only || onlySystems || onlyBackends;
  const name = partial ? 'latest-partial' : 'latest';
  const ext = partial ? '.tmp' : '';
  await mkdir(path.join(here, 'results'), { recursive: true });
  await writeFile(path.join(here, 'results', `${name}.json${ext}`), JSON.stringify({ ...meta, config, rows, targets: checks }, null, 2) + '\n');
  await writeFile(path.join(here, 'results', `${name}.md${ext}`), markdown(rows, checks, meta, METHOD));
  log(`wrote bench/results/${name}.json${ext} and ${name}.md${ext}`);
  // A failing factum or raw measurement is a bug to see in CI; a peer's failure is only reported.
  return rows.some((r) => (r.system === 'factum' || r.system === 'raw') && r.note?.startsWith('failed')) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
