// Two worker processes share 8 partitions through PostgreSQL leases; one is killed with SIGKILL
// mid-stream; the other takes its partitions over; no event is lost or applied twice.
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { kill, spawnWorker } from '../../test/runner-suites/processes.js';
import { ev, eventually, sleep } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`partitioned subscription across processes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('two processes share 8 partitions; one is killed; the survivor takes over with nothing lost or doubled', { timeout: 120_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const s = store.names.s;
    // No unique key on purpose: an event applied twice would show as two rows.
    await store.client.query(`CREATE TABLE ${s}applied (seq bigserial, event_id text NOT NULL, partition integer NOT NULL, worker text NOT NULL)`);
    const a = spawnWorker('partition-worker.ts', [POSTGRES_URL, schema, 'worker-a']);
    const b = spawnWorker('partition-worker.ts', [POSTGRES_URL, schema, 'worker-b']);
    try {
      await Promise.all([a.ready, b.ready]);
      const owners = async () => {
        const { rows } = await store.client.query<{ owner: string | null; n: string }>(
          `SELECT owner, count(*) AS n FROM ${s}partition_leases WHERE subscription = 'shared' AND expires_at > now() GROUP BY owner`,
        );
        return Object.fromEntries(rows.map((r) => [r.owner, Number(r.n)]));
      };
      await eventually(async () => JSON.stringify(await owners()) === JSON.stringify({ 'worker-a': 4, 'worker-b': 4 }), 30_000, 'a 4/4 split');

      let appended = 0;
      const appending = (async () => {
        for (let i = 0; i < 300; i++) {
          await store.append(`acct-${i % 40}`, [ev('Moved', { i }), ev('Moved', { i })]);
          appended += 2;
          await sleep(10);
        }
      })();
      await eventually(() => appended >= 200, 30_000, 'some appends');
      const { rows: before } = await store.client.query<{ worker: string; n: string }>(`SELECT worker, count(*) AS n FROM ${s}applied GROUP BY worker`);
      expect(before.map((r) => r.worker).sort()).toEqual(['worker-a', 'worker-b']);
      await kill(a);
      await eventually(async () => JSON.stringify(await owners()) === JSON.stringify({ 'worker-b': 8 }), 30_000, 'worker-b to hold all 8');
      await appending;

      const { rows: ids } = await store.client.query<{ event_id: string }>(`SELECT event_id::text FROM ${s}events`);
      await eventually(async () => {
        const { rows } = await store.client.query<{ n: string }>(`SELECT count(DISTINCT event_id) AS n FROM ${s}applied`);
        return Number(rows[0]!.n) === ids.length;
      }, 60_000, 'every event applied').catch(async (error) => {
        const cps = await store.client.query(`SELECT * FROM ${s}checkpoints`);
        const n = await store.client.query(`SELECT partition, count(*) FROM ${s}applied GROUP BY 1 ORDER BY 1`);
        const dl = await store.client.query(`SELECT status, error FROM ${s}dead_letters`);
        console.log(JSON.stringify({ head: String(await store.headPosition()), cps: cps.rows, n: n.rows, dl: dl.rows, b: b.output() }, null, 1));
        throw error;
      });
      const { rows } = await store.client.query<{ total: string; distinct_ids: string }>(
        `SELECT count(*) AS total, count(DISTINCT event_id) AS distinct_ids FROM ${s}applied`,
      );
      expect(ids.length).toBe(600);
      expect(Number(rows[0]!.distinct_ids)).toBe(600);
      expect(Number(rows[0]!.total)).toBe(600);
      // Per-stream order held: within each stream the events were applied in version order.
      const { rows: order } = await store.client.query<{ bad: string }>(`
        SELECT count(*) AS bad FROM (
          SELECT e.stream_id, e.stream_version, lag(e.stream_version) OVER (PARTITION BY e.stream_id ORDER BY a.seq) AS prev
            FROM ${s}applied a JOIN ${s}events e ON e.event_id::text = a.event_id) x
         WHERE prev IS NOT NULL AND prev > stream_version`);
      expect(Number(order[0]!.bad)).toBe(0);
    } finally {
      await kill(a);
      await kill(b);
      await store.close();
    }
  });
});
