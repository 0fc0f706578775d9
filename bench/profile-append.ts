/**
 * Where an append's time goes inside PostgreSQL: `npx tsx bench/profile-append.ts
 * [postgres|pglite] [events per append]`. Installs factum's append function several times,
 * each with one part taken out, beside the raw INSERT, and times them call by call, interleaved
 * (so machine drift hits all alike). Not a benchmark of factum: a tool to decide what to change.
 *
 * - `factum`: the function as migrated today;
 * - `first-id`: the idempotency probe looks up the first event id only (`= p_ids[1]`)
 *   instead of `= ANY(p_ids)`; a later id already in the log still fails on UNIQUE event_id;
 * - `no-probe`: no idempotency probe at all (a lower bound, not a proposal);
 * - `no-lock`: without the shared advisory lock;
 * - `no-streams`: without reading and writing the streams row;
 * - `bare`: none of the three: the cost of PL/pgSQL itself;
 * - `raw`: INSERT ... RETURNING into the equivalent table.
 *
 * A variant whose edit no longer matches the migration (the function changed) is reported as such.
 */
import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { MIGRATIONS } from '../src/store/sql/migrations.js';
import { sqlNames } from '../src/store/sql/sql-names.js';
import { benchEvent } from './bench-event.js';
import { benchUrl, createBenchDatabase, dropBenchDatabase } from './bench-database.js';
import { percentile } from './measure.js';
import { RAW_TABLE } from './systems/raw-system.js';

const backend = process.argv[2] === 'pglite' ? 'pglite' : 'postgres';
const perAppend = Number(process.argv[3] ?? 1);
const DATABASE = 'factum_profile';
const calls = Math.ceil(1500 / Math.sqrt(perAppend));

type Edit = (sql: string) => string;
const probe: Edit = (s) => s.replace(/IF EXISTS \(SELECT 1 FROM ([^ ]+) e WHERE e\.event_id = ANY\(p_ids\)\) THEN/, 'IF EXISTS (SELECT 1 FROM $1 e WHERE e.event_id = p_ids[1]) THEN');
const noProbe: Edit = (s) => s.replace(/IF EXISTS \(SELECT 1 FROM [^ ]+ e WHERE e\.event_id = (ANY\(p_ids\)|p_ids\[1\])\) THEN/, 'IF false THEN');
const noLock: Edit = (s) => s.replace(/PERFORM pg_advisory_xact_lock_shared\([^)]*\);/, '');
const noStreams: Edit = (s) =>
  s
    .replace(/IF v_new THEN\n\s*INSERT INTO [^\n]*\n[^\n]*\n[^\n]*\n[^\n]*\n\s*ELSE\n[^\n]*\n\s*END IF;/, '')
    .replace(/SELECT s\.version, s\.soft_deleted, s\.tombstoned INTO[^;]*;/, 'PERFORM 1 WHERE false;');
const VARIANTS: Record<string, Edit> = {
  factum: (s) => s,
  'first-id': probe,
  'no-probe': noProbe,
  'no-lock': noLock,
  'no-streams': noStreams,
  bare: (s) => noStreams(noLock(noProbe(s))),
};

async function main(): Promise<void> {
  let query: (sql: string, params?: unknown[]) => Promise<{ rows: any[] }>;
  /** Several statements at once (simple protocol). */
  let exec: (sql: string) => Promise<unknown>;
  let close: () => Promise<void>;
  if (backend === 'pglite') {
    const db = await PGlite.create('memory://');
    query = (sql, params) => db.query(sql, params);
    exec = (sql) => db.exec(sql);
    close = () => db.close();
  } else {
    // A database of its own, so it can run while `npm run bench` uses factum_bench.
    const reason = await createBenchDatabase(DATABASE);
    if (reason) throw new Error(reason);
    const client = new pg.Client({ connectionString: benchUrl(DATABASE) });
    await client.connect();
    query = (sql, params) => client.query(sql, params);
    exec = (sql) => client.query(sql);
    close = async () => {
      await client.end();
      await dropBenchDatabase(DATABASE);
    };
  }
  const base = MIGRATIONS[0]!;
  const runs: Record<string, () => Promise<unknown>> = {};
  const sample = benchEvent('order-0', 1);
  const data = JSON.stringify(sample.data);
  const meta = JSON.stringify(sample.metadata);
  const many = <T>(f: (i: number) => T) => Array.from({ length: perAppend }, (_, i) => f(i));
  let n = 0;
  for (const [name, edit] of Object.entries(VARIANTS)) {
    const schema = `profile_${name.replace('-', '_')}`;
    const original = base.sql(sqlNames(schema));
    const sql = edit(original);
    if (name !== 'factum' && sql === original) {
      console.log(`${name}: n/a (the edit does not apply to the current append function: already done, or the function changed)`);
      continue;
    }
    await exec(`CREATE SCHEMA ${schema};\n${sql}`);
    runs[name] = () =>
      query(`SELECT global_position FROM ${schema}.append_events($1, $2, 'no_stream', NULL, $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[])`, [
        `order-${++n}`,
        'order',
        many(() => randomUUID()),
        many(() => sample.type),
        many(() => data),
        many(() => meta),
        many(() => 1),
      ]);
  }
  await exec(RAW_TABLE);
  runs.raw = () => {
    const stream = `order-${++n}`;
    return query(
      `INSERT INTO raw.events (event_id, stream_id, stream_version, event_type, data, metadata)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::jsonb[]) RETURNING global_position`,
      [many(() => randomUUID()), many(() => stream), many((i) => i + 1), many(() => sample.type), many(() => data), many(() => meta)],
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
  console.log(`${backend}, ${perAppend} event(s) per append, ${calls} calls each, tables growing from empty to ${calls * perAppend} rows`);
  for (const [name, values] of Object.entries(latencies)) {
    const p50 = percentile(values, 50);
    console.log(`${name.padEnd(11)} p50 ${p50.toFixed(3)} ms  p10 ${percentile(values, 10).toFixed(3)} ms  raw/this ${(raw / p50).toFixed(2)}`);
  }
  if (backend === 'postgres') {
    const { rows } = await query(`SELECT schemaname, seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'events' ORDER BY schemaname`);
    console.log('sequential scans of each events table:', rows.map((r) => `${r.schemaname} ${r.seq_scan}`).join(', '));
  }
  await close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
