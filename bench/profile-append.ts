/**
 * Where an append's time goes inside the database: `npx tsx bench/profile-append.ts
 * [postgres|pglite|pglite-disk] [events per append]`. Installs factum's schema several times, each with one
 * part of the append function taken out, beside the raw INSERT, and times them call by call,
 * interleaved (so machine drift hits all alike). Not a benchmark of factum: a tool to decide
 * what to change.
 *
 * - `factum`: the function as migrated today;
 * - `no-lock`: without the early write lock on the log (PostgreSQL only: PGlite takes none);
 * - `no-state`: without reading the stream's settings and last version (a lower bound, not a proposal);
 * - `single`: the plain INSERT that single-event appends run instead, prepared (1 event per append only);
 * - `raw`: INSERT ... RETURNING into the equivalent table (the benchmark's raw system).
 *
 * A variant whose edit no longer matches the migration (the function changed) is reported as such.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { MIGRATIONS } from '../src/store/sql/migrations/migrations.js';
import { preparedPGlite } from '../src/store/pglite/prepared-pglite.js';
import { singleEventAppendSql } from '../src/store/sql/append/single-event-append-sql.js';
import { sqlNames } from '../src/store/sql/sql-names.js';
import { benchEvent } from './bench-event.js';
import { benchUrl, createBenchDatabase, dropBenchDatabase } from './bench-database.js';
import { percentile } from './measure.js';
import { RAW_TABLE } from './systems/raw-system.js';

const where = process.argv[2] ?? 'postgres';
const backend = where.startsWith('pglite') ? 'pglite' : 'postgres';
/** `pglite-disk`: in a temporary directory, as the benchmark and users run it. */
const onDisk = where === 'pglite-disk';
const perAppend = Number(process.argv[3] ?? 1);
const DATABASE = 'factum_profile';
const calls = Math.ceil(1500 / Math.sqrt(perAppend));

type Edit = (sql: string) => string;
const noLock: Edit = (s) => s.replace(/LOCK TABLE [^;]* IN ROW EXCLUSIVE MODE;/, '');
const noState: Edit = (s) => s.replace(/SELECT coalesce\(st\.soft_deleted[\s\S]*?LEFT JOIN [^;]*;/, 'v_deleted := false; v_tombstoned := false; v_version := 0;');
const VARIANTS: Record<string, Edit> = { factum: (s) => s, 'no-lock': noLock, 'no-state': noState };

async function main(): Promise<void> {
  let query: (sql: string, params?: unknown[]) => Promise<{ rows: any[] }>;
  /** The same as a prepared statement, as factum's store sends its statements. */
  let prepared: (sql: string, params: unknown[]) => Promise<{ rows: any[] }>;
  /** Several statements at once (simple protocol). */
  let exec: (sql: string) => Promise<unknown>;
  let close: () => Promise<void>;
  if (backend === 'pglite') {
    const dir = onDisk ? await mkdtemp(path.join(os.tmpdir(), 'factum-profile-')) : 'memory://';
    const db = await PGlite.create(dir);
    query = (sql, params) => db.query(sql, params);
    const wire = preparedPGlite(db as never, await import('@electric-sql/pglite') as never);
    prepared = (sql, params) => wire.query(sql, params);
    exec = (sql) => db.exec(sql);
    close = async () => {
      await db.close();
      if (onDisk) await rm(dir, { recursive: true, force: true });
    };
  } else {
    // A database of its own, so it can run while `npm run bench` uses its own.
    const reason = await createBenchDatabase(DATABASE);
    if (reason) throw new Error(reason);
    const client = new pg.Client({ connectionString: benchUrl(DATABASE) });
    await client.connect();
    query = (sql, params) => client.query(sql, params);
    prepared = (sql, values) => client.query({ name: `p_${sql.length}`, text: sql, values });
    exec = (sql) => client.query(sql);
    close = async () => {
      await client.end();
      await dropBenchDatabase(DATABASE);
    };
  }
  const runs: Record<string, () => Promise<unknown>> = {};
  let n = 0;
  const events = () => Array.from({ length: perAppend }, (_, i) => benchEvent(`order-${n}`, i + 1));
  for (const [name, edit] of Object.entries(VARIANTS)) {
    const schema = `profile_${name.replace('-', '_')}`;
    const names = sqlNames(schema);
    const last = MIGRATIONS[MIGRATIONS.length - 1]!.sql(names);
    if (name !== 'factum' && edit(last) === last) {
      console.log(`${name}: n/a (the edit does not apply to the current append function)`);
      continue;
    }
    await exec(`CREATE SCHEMA ${schema}`);
    for (const migration of MIGRATIONS.slice(0, -1)) await exec(migration.sql(names));
    await exec(edit(last));
    runs[name] = () =>
      query(`SELECT ${names.s}append_events($1, 'no_stream', NULL, $2::jsonb, $3, NULL)`, [
        `order-${++n}`,
        JSON.stringify(events().map((e) => ({ i: e.id, t: e.type, d: e.data, m: e.metadata, v: 1 }))),
        backend === 'postgres',
      ]);
  }
  if (perAppend === 1) {
    // The statement single-event appends run (single-event-append-sql.ts), on the factum
    // schema, prepared as the store prepares it (unprepared, planning it costs more than the function).
    const sql = singleEventAppendSql(sqlNames('profile_factum'), 'at', false);
    runs.single = () => {
      const e = events()[0]!;
      return prepared(sql, [e.id, `order-${++n}`, 0, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), 1]);
    };
  }
  await exec(RAW_TABLE);
  runs.raw = () => {
    const stream = `order-${++n}`;
    const batch = events();
    if (perAppend === 1) {
      const e = batch[0]!;
      return query(`INSERT INTO raw.events (event_id, stream_id, stream_version, event_type, data, metadata) VALUES ($1, $2, 1, $3, $4, $5) RETURNING global_position`, [
        e.id, stream, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata),
      ]);
    }
    return query(
      `INSERT INTO raw.events (event_id, stream_id, stream_version, event_type, data, metadata)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::jsonb[]) RETURNING global_position`,
      [batch.map((e) => e.id), batch.map(() => stream), batch.map((_, i) => i + 1), batch.map((e) => e.type), batch.map((e) => JSON.stringify(e.data)), batch.map((e) => JSON.stringify(e.metadata))],
    );
  };
  const latencies: Record<string, number[]> = {};
  for (let i = 0; i < calls; i++) {
    for (const [name, run] of Object.entries(runs)) {
      const start = process.hrtime.bigint();
      await run();
      (latencies[name] ??= []).push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  const raw = percentile(latencies.raw!, 50);
  console.log(`${where}, ${perAppend} event(s) per append, ${calls} calls each, tables growing from empty to ${calls * perAppend} rows`);
  for (const [name, values] of Object.entries(latencies)) {
    const p50 = percentile(values, 50);
    console.log(`${name.padEnd(9)} p50 ${p50.toFixed(3)} ms  p10 ${percentile(values, 10).toFixed(3)} ms  raw/this ${(raw / p50).toFixed(2)}`);
  }
  await close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
