// Workflows on a real PostgreSQL server: the shared suite, two runners feeding one instance at
// once, and two timer services sharing the timers (each store object is its own connection pool,
// as two processes would be).
import { afterAll, describe, expect, it } from 'vitest';
import { tally } from '../../test/runner-suites/tally-workflow.js';
import { WorkflowRunner } from './workflow-runner.js';
import { TimerService } from './timer-service.js';
import { WorkflowQueries } from './workflow-queries.js';
import { workflowSuite } from '../../test/runner-suites/workflow-suite.js';
import { orderWorkflow, stockHandlers } from '../../test/runner-suites/order-workflow.js';
import { expectSettledOnce, placeRacingOrders } from '../../test/runner-suites/order-workflow-checks.js';
import { eventually } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, openTestPostgres, storeFactories } from '../../test/stores.js';
import { openPostgresEventStore, type PostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { POSTGRES_URL } from '../../test/services.js';

const factories = (await storeFactories()).filter((f) => f.name === 'postgres');
workflowSuite(factories);
afterAll(() => dropSchemas(createdSchemas));


const skip = factories[0]?.skip;
describe.skipIf(Boolean(skip))(`workflows: postgres, several processes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('takes two streams of inputs for one instance from two runners at once: every input in the log once, none lost', { timeout: 60_000 }, async () => {
    const store = (await openTestPostgres()) as PostgresEventStore;
    const other = await openPostgresEventStore({ connection: POSTGRES_URL, schema: store.names.schema, maxConnections: 4 });
    const streams = 40;
    // Streams land in both partitions, every event names the same instance.
    for (let i = 0; i < streams; i++) await store.append(`ping-${i}`, [{ type: 'Pinged', data: { target: 'x' } }, { type: 'Pinged', data: { target: 'x' } }]);
    const runners = [
      new WorkflowRunner(store, tally, { partition: { index: 0, count: 2 }, pollIntervalMs: 50 }),
      new WorkflowRunner(other, tally, { partition: { index: 1, count: 2 }, pollIntervalMs: 50 }),
    ];
    try {
      await Promise.all(runners.map((r) => r.start()));
      const head = await store.headPosition();
      await Promise.all(runners.map((r) => r.waitFor(head, { timeoutMs: 50_000 })));
      const accepted = runners.map((r) => r.status().counts.accepted);
      expect(accepted.every((n) => n > 0)).toBe(true);
      expect(accepted[0]! + accepted[1]!).toBe(streams * 2);
      const instance = (await new WorkflowQueries(store, tally).instance('x'))!;
      expect(instance.state).toEqual({ pings: streams * 2 });
      const sources = instance.log.map((e) => (e.data as { sourceId: string }).sourceId);
      expect(new Set(sources).size).toBe(streams * 2);
      expect(instance.log.map((e) => e.streamVersion)).toEqual(Array.from({ length: streams * 2 }, (_, i) => i + 1));
    } finally {
      await Promise.all(runners.map((r) => r.stop()));
      await other.close();
      await store.close();
    }
  });

  it('fires each timer once when two timer services share the table', { timeout: 60_000 }, async () => {
    const store = (await openTestPostgres()) as PostgresEventStore;
    const other = await openPostgresEventStore({ connection: POSTGRES_URL, schema: store.names.schema, maxConnections: 4 });
    const orders = 60;
    const runner = await new WorkflowRunner(store, orderWorkflow, { timers: false, pollIntervalMs: 50 }).start();
    const services = [new TimerService(store, orderWorkflow, { pollIntervalMs: 50 }), new TimerService(other, orderWorkflow, { pollIntervalMs: 50 })];
    try {
      let last = 0n;
      for (let i = 0; i < orders; i++) last = (await store.append(`shop-${i}`, [{ type: 'OrderPlaced', data: { orderId: String(i), payWithinMs: 0 } }])).lastPosition;
      await runner.waitFor(last, { timeoutMs: 30_000 });
      expect(await runner.queries.timers()).toHaveLength(orders);
      await Promise.all(services.map((s) => s.start()));
      await eventually(async () => (await runner.queries.instances({ status: 'completed' })).length === orders, 30_000, 'every order expired');
      const { rows } = await store.client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${store.names.s}events WHERE event_type = 'WorkflowInputAccepted' AND data->'input'->>'type' = 'TimerFired'`,
      );
      expect(Number(rows[0]!.n)).toBe(orders);
      const fired = services.map((s) => s.status().fired);
      expect(fired[0]! + fired[1]!).toBe(orders);
      expect(await runner.queries.timers()).toEqual([]);
    } finally {
      await Promise.all(services.map((s) => s.stop()));
      await runner.stop();
      await other.close();
      await store.close();
    }
  });

  it('settles a race between answers and timers once per order: one completion, paid or expired, and no deadlock', { timeout: 60_000 }, async () => {
    const store = (await openTestPostgres()) as PostgresEventStore;
    const other = await openPostgresEventStore({ connection: POSTGRES_URL, schema: store.names.schema, maxConnections: 4 });
    const errors: unknown[] = [];
    const orders = 40;
    const seen = new Map<string, number>();
    const runner = await new WorkflowRunner(store, orderWorkflow, { timers: false, handlers: stockHandlers(seen), pollIntervalMs: 50, onError: (e) => errors.push(e) }).start();
    const timers = await new TimerService(other, orderWorkflow, { pollIntervalMs: 20, onError: (e) => errors.push(e) }).start();
    try {
      await placeRacingOrders(store, orders, 50, 20);
      await expectSettledOnce(runner.queries, orders);
      expect(errors).toEqual([]);
    } finally {
      await timers.stop();
      await runner.stop();
      await other.close();
      await store.close();
    }
  });
});
