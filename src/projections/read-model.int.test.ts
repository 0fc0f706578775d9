// Reading a projection's tables through public API: names as the handlers write them, on the store's client.
import { afterAll, expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';
import { EventRegistry } from '../schema/event-registry.js';
import { InlineProjections } from './inline-projections.js';
import { ProjectionRunner } from './projection-runner.js';
import { defineProjection } from './projection.js';
import { readModel } from './read-model.js';

afterAll(() => dropSchemas(createdSchemas));

const totals = defineProjection({
  name: 'read-model-totals',
  tables: { totals: (t) => `CREATE TABLE ${t} (order_id text PRIMARY KEY, total integer NOT NULL)` },
  handlers: {
    OrderPlaced: async (event, { sql, table }) => {
      await sql!.query(`INSERT INTO ${table('totals')} VALUES ($1, $2)`, [event.streamId, (event.data as { total: number }).total]);
    },
  },
});

describeOnStores('readModel', (on) => {
  it('names the tables as the handlers do and queries them on the store, wrapped by a registry or not', async () => {
    const store = await on.open();
    await new InlineProjections(store, [totals]).start();
    await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }]);
    for (const target of [store, new EventRegistry().wrap(store)]) {
      const model = readModel(target, totals);
      // On PostgreSQL the store lives in a schema of its own: an unqualified name would not be found.
      const { rows } = await model.query<{ order_id: string; total: number }>(`SELECT order_id, total FROM ${model.table('totals')}`);
      expect(rows).toEqual([{ order_id: 'order-1', total: 42 }]);
    }
  });

  it('waits for the async runner to reach a position (read-your-writes without the runner at hand), WAIT_TIMEOUT when it does not', async () => {
    const store = await on.open();
    const model = readModel(store, totals);
    const { lastPosition } = await store.append('order-2', [{ type: 'OrderPlaced', data: { total: 7 } }]);
    expect(await caught(model.waitFor(lastPosition, { timeoutMs: 50 }))).toMatchObject({ code: 'WAIT_TIMEOUT', details: { reached: null } });
    const runner = await new ProjectionRunner(store, totals).start();
    try {
      await model.waitFor(lastPosition, { timeoutMs: 10_000 });
      expect((await model.query(`SELECT total FROM ${model.table('totals')} WHERE order_id = 'order-2'`)).rows).toEqual([{ total: 7 }]);
    } finally {
      await runner.stop();
    }
  });

  it('refuses a table the projection does not declare', async () => {
    const model = readModel(await on.open(), totals);
    // @ts-expect-error the names are typed too: this is what an untyped caller could send
    const error = await caught(Promise.resolve().then(() => model.table('total')));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('no table "total"') });
  });
}, { needs: ['sql'] });

describeOnStores('readModel without SQL', (on) => {
  it('is refused with INVALID_ARGUMENT: the store keeps no tables', async () => {
    const store = await on.open();
    const error = await caught(Promise.resolve().then(() => readModel(store, totals)));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('read-model-totals') });
  });
}, { stores: (f) => !f.capabilities.sql });
