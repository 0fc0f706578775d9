// A projection runner's dead letters retried and skipped by an operator through the database: the
// running runner applies them (and the events parked behind them) to its read model, in order.
import { afterAll, expect, it } from 'vitest';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { ev, eventually } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';
import { allDeadLetters } from '../consumers/all-dead-letters.js';
import { requestDeadLetterAction } from '../consumers/request-dead-letter-action.js';
import { defineProjection } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { readModel } from './read-model.js';

afterAll(() => dropSchemas(createdSchemas));

describeOnStores(
  'projection runner: dead-letter requests',
  (on) => {
    it('applies a retried event and those parked behind it to the read model in order; a skipped one is left out', async () => {
      const store = await on.open();
      const broken = new Set(['t-1', 't-2']);
      // Each row keeps the versions applied, in order: the order is what the test checks.
      const seen = defineProjection({
        name: 'seen-versions',
        tables: { seen: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, versions text NOT NULL)` },
        handlers: {
          Step: async (event, { sql, table }) => {
            if (broken.has(event.streamId)) throw new Error(`${event.streamId} cannot be projected`);
            await sql!.query(`INSERT INTO ${table('seen')} VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET versions = ${table('seen')}.versions || ',' || excluded.versions`, [event.streamId, String(event.streamVersion)]);
          },
        },
      });
      const runner = new ProjectionRunner(store, seen, { pollIntervalMs: 100, retry: { immediateRetries: 0, backoffRetries: 0 } });
      await runner.start();
      try {
        for (const s of ['t-1', 't-2', 't-3']) await store.append(s, [ev('Step'), ev('Step'), ev('Step')]);
        await eventually(async () => (await allDeadLetters(store)).filter((l) => l.status === 'dead').length === 2, 20_000, 'two dead letters');
        const dead = async (s: string) => (await allDeadLetters(store)).find((l) => l.streamId === s && l.status === 'dead')!.id;
        broken.clear();
        expect(await requestDeadLetterAction(store, await dead('t-1'), 'retry', { waitSeconds: 20 })).toMatchObject({ outcome: 'succeeded', request: { handled: 3, remaining: 0 } });
        expect(await requestDeadLetterAction(store, await dead('t-2'), 'skip', { waitSeconds: 20 })).toMatchObject({ outcome: 'succeeded', request: { handled: 2, remaining: 0 } });
        const model = readModel(store, seen);
        const { rows } = await model.query<{ stream_id: string; versions: string }>(`SELECT stream_id, versions FROM ${model.table('seen')} ORDER BY stream_id`);
        expect(rows).toEqual([
          { stream_id: 't-1', versions: '1,2,3' },
          { stream_id: 't-2', versions: '2,3' },
          { stream_id: 't-3', versions: '1,2,3' },
        ]);
        expect(await allDeadLetters(store)).toEqual([]);
      } finally {
        await runner.stop();
      }
    });
  },
  { needs: ['sql'] },
);
