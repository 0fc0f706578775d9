import pg from 'pg';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { benchEvents } from './bench-event.js';
import { RAW_TABLE } from './systems/raw-system.js';

const url = 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Client({ connectionString: url }); await admin.connect();
const fresh = process.argv[2] === 'fresh';
if (fresh) { await admin.query('DROP DATABASE IF EXISTS exp_read'); await admin.query('CREATE DATABASE exp_read'); }
await admin.end();
const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/exp_read', max: 4 });
await pool.query(RAW_TABLE);
const store = await openPostgresEventStore({ connection: pool, schema: 'fx' });
const N = 200_000;
if (fresh) {
  for (let i = 0; i < N; i += 1000) {
    const id = `all-${i}`; const evs = benchEvents(id, 1, 1000);
    await store.append(id, evs.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })), { expectedVersion: 'no_stream' });
    await pool.query(`INSERT INTO raw.events (event_id, stream_id, stream_version, event_type, data, metadata) SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::jsonb[])`,
      [evs.map((e) => e.id), evs.map(() => id), evs.map((_, k) => k + 1), evs.map((e) => e.type), evs.map((e) => JSON.stringify(e.data)), evs.map((e) => JSON.stringify(e.metadata))]);
  }
  await pool.query('VACUUM ANALYZE raw.events'); await pool.query('VACUUM ANALYZE fx.events');
}
const COLUMNS = 'global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version, recorded_at';
const ALIASED = 'e.event_id AS id, e.event_type AS type, e.data, e.metadata, e.schema_version AS "schemaVersion", e.stream_id AS "streamId", e.stream_version::float8 AS "streamVersion", e.global_position AS "globalPosition", e.recorded_at AS "recordedAt"';
const d2 = (t: string, i: number) => (t.charCodeAt(i) - 48) * 10 + t.charCodeAt(i + 1) - 48;
function ts(t: string): Date {
  const year = d2(t, 0) * 100 + d2(t, 2);
  let i = 19, ms = 0;
  if (t.charCodeAt(i) === 46) { i++; let scale = 100; while (i < t.length) { const c = t.charCodeAt(i) - 48; if (c < 0 || c > 9) break; ms += c * scale; scale /= 10; i++; } }
  const sign = t.charCodeAt(i) === 45 ? -1 : 1; const oh = d2(t, i + 1); const om = t.length > i + 3 ? d2(t, i + 4) : 0;
  return new Date(Date.UTC(year, d2(t, 5) - 1, d2(t, 8), d2(t, 11), d2(t, 14), d2(t, 17), Math.floor(ms)) - sign * (oh * 60 + om) * 60000);
}
const P: Record<number, (s: string) => unknown> = { 20: BigInt, 701: Number, 23: Number, 3802: JSON.parse, 1184: ts };
const id = (s: string) => s;
const types = { getTypeParser: (oid: number) => P[oid] ?? id };
const variants: Record<string, () => Promise<number>> = {
  raw: async () => { let after = '0', count = 0; for (;;) { const { rows } = await pool.query(`SELECT ${COLUMNS} FROM raw.events WHERE global_position > $1 ORDER BY global_position LIMIT $2`, [after, 1000]); count += rows.length; if (rows.length < 1000) return count; after = String(rows[rows.length - 1].global_position); } },
  parsed: async () => { let after = 0n, count = 0; for (;;) { const { rows } = await pool.query({ text: `SELECT ${ALIASED} FROM raw.events e WHERE global_position > $1 ORDER BY global_position LIMIT $2`, values: [after, 1000], types } as any); count += rows.length; if (rows.length < 1000) return count; after = rows[rows.length - 1].globalPosition; } },
  factum: async () => { let c = 0; for await (const _ of store.readAll({ pageSize: 1000 })) c++; return c; },
};
const only = process.argv[3]?.split(',');
const res: Record<string, number[]> = {};
for (let r = 0; r < 6; r++) for (const [name, run] of Object.entries(variants)) {
  if (only && !only.includes(name)) continue;
  const t = performance.now(); const c = await run(); const s = (performance.now() - t) / 1000;
  if (c !== N) throw new Error(`${name} read ${c}`);
  if (r) (res[name] ??= []).push(N / s);
}
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
for (const [n, r] of Object.entries(res)) console.log(n.padEnd(10), Math.round(med(r)), res.raw ? (med(r) / med(res.raw)).toFixed(2) : '');
await store.close(); await pool.end();
