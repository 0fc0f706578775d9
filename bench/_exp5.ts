import pg from 'pg';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { singleEventAppendSql } from '../src/store/sql/single-event-append-sql.js';
import { sqlNames } from '../src/store/sql/sql-names.js';
import { benchEvent } from './bench-event.js';
const mode = process.argv[2];
const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/exp_append', max: 16 });
const store = await openPostgresEventStore({ connection: pool, schema: 'fx' });
const FAST = singleEventAppendSql(sqlNames('fx'), 'at', false);
let n = 0;
const tag = `${mode}-${Date.now()}`;
const run = mode === 'store'
  ? () => { const s = `${tag}-${++n}`; const e = benchEvent(s, 1); return store.append(s, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], { expectedVersion: 'no_stream' }); }
  : () => { const s = `${tag}-${++n}`; const e = benchEvent(s, 1); return pool.query({ name: 'fast', text: FAST, values: [e.id, s, 0, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), 1] }); };
for (const ms of [1000, 5000]) {
  const end = Date.now() + ms; let count = 0;
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 16 }, async () => { while (Date.now() < end) { await run(); count++; } }));
  const cpu = process.cpuUsage(cpu0);
  if (ms === 5000) console.log(mode, Math.round(count / 5), 'appends/s', ((cpu.user + cpu.system) / count).toFixed(1), 'us CPU per append', (cpu.user / count).toFixed(1), 'user');
}
await store.close(); await pool.end();
