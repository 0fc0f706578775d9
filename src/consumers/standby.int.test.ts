// Two processes run one subscription with `standby`: the second waits, handling nothing; when
// the first is SIGKILLed it takes over, and every event is handled once (real processes, real PostgreSQL).
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { kill, spawnWorker } from '../../test/runner-suites/processes.js';
import { ev, eventually, sleep } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`standby across processes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('the standby process handles nothing until the active one is SIGKILLed, then takes over: every event once, none lost', { timeout: 60_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const s = store.names.s;
    await store.client.query(`CREATE TABLE ${s}effects (id bigserial PRIMARY KEY, event_id text NOT NULL, pid integer NOT NULL)`);
    const effects = async () => (await store.client.query<{ event_id: string; pid: number }>(`SELECT event_id, pid FROM ${s}effects ORDER BY id`)).rows;
    const active = spawnWorker('standby-worker.ts', [POSTGRES_URL, schema]);
    let standby: ReturnType<typeof spawnWorker> | undefined;
    try {
      await active.ready;
      expect(active.output()).toContain('ready running');
      standby = spawnWorker('standby-worker.ts', [POSTGRES_URL, schema]);
      await standby.ready;
      expect(standby!.output()).toContain('ready standby');
      const ids: string[] = [];
      const appendSome = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const { lastPosition } = await store.append(`order-${i % 5}`, [ev('E', { i })]);
          ids.push((await store.readAllPage({ after: lastPosition - 1n, limit: 1 })).events[0]!.id);
          await sleep(5);
        }
      };
      await appendSome(30);
      await eventually(async () => (await effects()).length === 30, 20_000, 'the active process handled the first 30');
      expect(new Set((await effects()).map((e) => e.pid))).toEqual(new Set([active.child.pid]));
      expect(standby!.output()).not.toContain('state running');

      await kill(active);
      await appendSome(30);
      await eventually(async () => (await effects()).length >= 60, 20_000, 'the standby took over');
      await sleep(200);
      const all = await effects();
      expect(all.map((e) => e.event_id).sort()).toEqual([...ids].sort());
      expect(all.slice(30).every((e) => e.pid === standby!.child.pid)).toBe(true);
      expect(standby!.output()).toContain('state running');
    } finally {
      await kill(active);
      if (standby) await kill(standby);
      await store.close();
    }
  });
});
