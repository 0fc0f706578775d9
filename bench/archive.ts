/**
 * Archive and restore throughput beside a raw COPY of the same rows, on PostgreSQL and PGlite
 * (issue 18). Each round builds a log of 200,000 events (2,000 streams of 100) in a fresh schema,
 * then, on the same rows (every stream's first 50 versions, 100,000 events):
 * - raw COPY TO: `COPY (SELECT ...) TO STDOUT` (PostgreSQL, through pg-copy-streams) or
 *   `TO '/dev/blob'` (PGlite's own COPY), gzipped to a file like the archive's segments;
 * - raw COPY FROM: that file back into an empty copy of the events table;
 * - factum archive: `archiveEvents` with maxCount 50: plan, segments, read-back check, delete;
 * - factum restore: `restoreArchive` in place: checks, segments read and verified, rows written back.
 * The raw COPYs neither plan, check nor delete: they are the floor for moving these rows
 * through a file. Rounds alternate raw and factum; the figure is the median over the rounds.
 *
 * Run: `npx tsx bench/archive.ts [--quick] [--rounds N]`; writes bench/results/archive.md and .json.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { PGlite } from '@electric-sql/pglite';
import type { EventStore } from '../src/core/event-store.js';
import { uuidv7 } from '../src/core/uuid.js';
import { archiveEvents } from '../src/store/archive/archive-events.js';
import { restoreArchive } from '../src/store/archive/restore-archive.js';
import { importEvents, type ImportEvent } from '../src/store/import/import-events.js';
import { openPGliteEventStore } from '../src/store/pglite/pglite-event-store.js';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { sqlAccess } from '../src/store/sql-access.js';

const SERVER_URL = process.env.FACTUM_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 1 : 3;
const STREAMS = quick ? 200 : 2000;
const PER_STREAM = 100;
const KEEP = 50;
const ARCHIVED = STREAMS * (PER_STREAM - KEEP);

type Backend = 'postgres' | 'pglite';
type Measure = 'raw COPY TO (gzip file)' | 'raw COPY FROM (gzip file)' | 'factum archive' | 'factum restore (in place)';
const samples = new Map<string, number[]>();
const phases: Record<string, number[]> = {};
const record = (backend: Backend, measure: Measure, seconds: number) => {
  const key = `${backend}|${measure}`;
  samples.set(key, [...(samples.get(key) ?? []), ARCHIVED / seconds]);
};

function* generate(): Generator<ImportEvent> {
  // About 150 bytes of JSON per event, like an order line with its metadata.
  for (let v = 1; v <= PER_STREAM; v++) {
    for (let s = 0; s < STREAMS; s++) {
      yield { id: uuidv7(), streamId: `ledger-${s}`, type: v % 2 ? 'Credited' : 'Debited', data: { account: s, entry: v, amount: (s * 7 + v) % 1000, memo: 'monthly settlement' }, metadata: { correlationId: `c-${s}-${v}` } };
    }
  }
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const selectArchived = (s: string) => `SELECT * FROM ${s}events WHERE stream_version <= ${KEEP}`;

/** Raw COPY on PostgreSQL: the archived rows out to a gzipped file and back into an empty copy of the table. */
async function rawPostgres(schema: string, dir: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  const s = `"${schema}".`;
  const file = path.join(dir, 'raw.copy.gz');
  try {
    let start = process.hrtime.bigint();
    await pipeline(client.query(copyTo(`COPY (${selectArchived(s)}) TO STDOUT`)), createGzip({ level: 6 }), createWriteStream(file));
    record('postgres', 'raw COPY TO (gzip file)', seconds(start));
    await client.query(`CREATE TABLE ${s}events_copy (LIKE ${s}events INCLUDING ALL)`);
    start = process.hrtime.bigint();
    await pipeline(createReadStream(file), createGunzip(), client.query(copyFrom(`COPY ${s}events_copy FROM STDIN`)));
    record('postgres', 'raw COPY FROM (gzip file)', seconds(start));
    await client.query(`DROP TABLE ${s}events_copy`);
  } finally {
    await client.end();
  }
}

/** Raw COPY on PGlite, through its own `/dev/blob` device. */
async function rawPGlite(db: PGlite, schema: string, dir: string): Promise<void> {
  const s = `"${schema}".`;
  const file = path.join(dir, 'raw.copy.gz');
  let start = process.hrtime.bigint();
  const out = await db.query(`COPY (${selectArchived(s)}) TO '/dev/blob'`);
  await writeFile(file, gzipSync(Buffer.from(await out.blob!.arrayBuffer()), { level: 6 }));
  record('pglite', 'raw COPY TO (gzip file)', seconds(start));
  await db.query(`CREATE TABLE ${s}events_copy (LIKE ${s}events INCLUDING ALL)`);
  start = process.hrtime.bigint();
  await db.query(`COPY ${s}events_copy FROM '/dev/blob'`, [], { blob: new Blob([gunzipSync(await readFile(file))]) });
  record('pglite', 'raw COPY FROM (gzip file)', seconds(start));
  await db.query(`DROP TABLE ${s}events_copy`);
}

async function factum(backend: Backend, store: EventStore, dir: string): Promise<void> {
  const directory = path.join(dir, 'archive');
  let written = 0n;
  let start = process.hrtime.bigint();
  await archiveEvents(store, {
    policy: { rules: [{ category: 'ledger', maxCount: KEEP }] },
    directory,
    onProgress: (p) => {
      if (p.phase === 'writing') written = process.hrtime.bigint();
    },
  });
  const total = seconds(start);
  record(backend, 'factum archive', total);
  const writing = Number(written - start) / 1e9;
  (phases[`${backend} archive: plan + write segments (s)`] ??= []).push(writing);
  (phases[`${backend} archive: check segments + delete from the log (s)`] ??= []).push(total - writing);
  start = process.hrtime.bigint();
  const restored = await restoreArchive(store, { directory });
  record(backend, 'factum restore (in place)', seconds(start));
  if (restored.written !== ARCHIVED) throw new Error(`restored ${restored.written} events, expected ${ARCHIVED}`);
}

async function round(backend: Backend, n: number, log: (m: string) => void): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-bench-archive-'));
  const schema = `bench_archive_${process.pid}_${n}`;
  try {
    if (backend === 'postgres') {
      const store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 4 });
      try {
        await importEvents(store, generate(), { batchSize: 20_000 });
        // Alternate which goes first, so neither always meets a warmer cache.
        const steps = [() => rawPostgres(schema, dir), () => factum(backend, store, dir)];
        for (const step of n % 2 ? steps.reverse() : steps) await step();
      } finally {
        await sqlAccess(store)!.client.query(`DROP SCHEMA "${schema}" CASCADE`);
        await store.close();
      }
    } else {
      const db = await PGlite.create('memory://');
      const store = await openPGliteEventStore({ dataDir: db, schema });
      try {
        await importEvents(store, generate(), { batchSize: 20_000 });
        const steps = [() => rawPGlite(db, schema, dir), () => factum(backend, store, dir)];
        for (const step of n % 2 ? steps.reverse() : steps) await step();
      } finally {
        await store.close();
        await db.close();
      }
    }
    log(`${backend} round ${n + 1} done`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const load = [os.loadavg()[0]!.toFixed(1)];
  const startedAt = new Date().toISOString();
  for (let n = 0; n < ROUNDS; n++) for (const backend of ['postgres', 'pglite'] as const) await round(backend, n, log);
  load.push(os.loadavg()[0]!.toFixed(1));

  const rows = [...samples.entries()].map(([key, values]) => {
    const [backend, measure] = key.split('|') as [Backend, Measure];
    return { backend, measure, eventsPerSecond: Math.round(median(values)), rounds: values.map(Math.round) };
  });
  const rate = (backend: Backend, measure: Measure) => rows.find((r) => r.backend === backend && r.measure === measure)!.eventsPerSecond;
  const lines = [
    '# Archive and restore vs raw COPY',
    '',
    `Run of ${startedAt}, produced by \`npx tsx bench/archive.ts${quick ? ' --quick' : ''}\`; ${os.cpus().length} cores (shared with other work), load average ${load[0]} at the start and ${load[1]} at the end.`,
    `Each round: a log of ${(STREAMS * PER_STREAM).toLocaleString('en')} events (${STREAMS.toLocaleString('en')} streams of ${PER_STREAM}) in a fresh schema; ${ARCHIVED.toLocaleString('en')} of them (every stream's first ${KEEP} versions) archived and restored, and the same rows COPYed out and in. ${ROUNDS} round(s), median; events per second of the ${ARCHIVED.toLocaleString('en')} rows.`,
    '',
    '| backend | measure | events/s | rounds |',
    '|---|---|---:|---|',
    ...rows.map((r) => `| ${r.backend} | ${r.measure} | ${r.eventsPerSecond.toLocaleString('en')} | ${r.rounds.join(', ')} |`),
    '',
    ...(['postgres', 'pglite'] as const).map((b) => `- ${b}: archive / raw COPY TO = **${(rate(b, 'factum archive') / rate(b, 'raw COPY TO (gzip file)')).toFixed(2)}**, restore / raw COPY FROM = **${(rate(b, 'factum restore (in place)') / rate(b, 'raw COPY FROM (gzip file)')).toFixed(2)}**`),
    ...Object.entries(phases).map(([name, values]) => `- ${name}: ${median(values).toFixed(2)} (rounds ${values.map((v) => v.toFixed(2)).join(', ')})`),
    '',
    'What the raw figures leave out and factum does: COPY TO moves the rows to one file; the archive also plans per stream (a query or two each),',
    'writes one JSON line per event into checksummed segments each fsynced and renamed, records each in the manifest (fsynced too), reads every segment back',
    'to check its sha256, and deletes the rows with the streams\' markers in transactions that lock out writers. COPY FROM writes rows into a table with no',
    'readers; the restore reads and verifies every segment twice (before writing anything, and as it writes) and checks for clashes in each transaction.',
    'PostgreSQL\'s COPY goes through pg-copy-streams (a devDependency, used only here); PGlite\'s through its own /dev/blob device.',
    '',
  ];
  await writeFile(new URL('./results/archive.md', import.meta.url), lines.join('\n'));
  await writeFile(new URL('./results/archive.json', import.meta.url), `${JSON.stringify({ startedAt, quick, rounds: ROUNDS, load, rows, phases }, null, 1)}\n`);
  process.stdout.write(lines.join('\n'));
}

await main();
