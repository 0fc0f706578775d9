// A subscriber process SIGKILLed while one stream's event is being retried: after a restart
// nothing is lost, that stream's events are handled in order, and the other stream's are not
// handled twice (real processes, real PostgreSQL).
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { createRecordingTables, recordingSubscriber } from '../../test/runner-suites/recording-subscriber.js';
import { kill, spawnWorker } from '../../test/runner-suites/processes.js';
import { ev, eventually } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`crash during a retry${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('resumes after a SIGKILL while a-1 is retrying: nothing lost, a-1 in order, b-1 not twice', { timeout: 60_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const s = store.names.s;
    const effects = async () => (await store.client.query<{ stream_id: string; n: number }>(`SELECT stream_id, n FROM ${s}effects ORDER BY id`)).rows.map((r) => `${r.stream_id}/${r.n}`);
    try {
      await createRecordingTables(store);
      await store.client.query(`INSERT INTO ${s}poisoned VALUES ('a-1')`);
      await store.append('a-1', [ev('E', { n: 1, poison: true }), ev('E', { n: 2 })]);
      await store.append('b-1', [ev('E', { n: 1 }), ev('E', { n: 2 })]);
      const worker = spawnWorker('recording-worker.ts', [POSTGRES_URL, schema]);
      try {
        await worker.ready;
        // b-1 flowed, a-1/1 failed and waits for its next retry, a-1/2 is parked behind it.
        await eventually(async () => (await effects()).length === 2, 20_000, 'b-1 handled');
        await eventually(async () => {
          const { rows } = await store.client.query<{ status: string; attempts: number }>(`SELECT status, attempts FROM ${s}dead_letters ORDER BY global_position`);
          return rows.length === 2 && rows[0]!.status === 'retrying' && rows[1]!.status === 'parked';
        }, 20_000, 'a-1 retrying');
      } finally {
        await kill(worker);
      }
      expect(await effects()).toEqual(['b-1/1', 'b-1/2']);
      // While nobody runs: more events, and the poison is cured.
      await store.append('a-1', [ev('E', { n: 3 })]);
      const last = await store.append('b-1', [ev('E', { n: 3 })]);
      await store.client.query(`DELETE FROM ${s}poisoned`);

      const restarted = recordingSubscriber(store);
      await restarted.start();
      try {
        await restarted.waitFor(last.lastPosition, { timeoutMs: 20_000 });
      } finally {
        await restarted.stop();
      }
      const done = await effects();
      expect(done.filter((e) => e.startsWith('a-1'))).toEqual(['a-1/1', 'a-1/2', 'a-1/3']);
      expect(done.filter((e) => e.startsWith('b-1'))).toEqual(['b-1/1', 'b-1/2', 'b-1/3']);
      expect((await store.client.query(`SELECT * FROM ${s}dead_letters`)).rows).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
