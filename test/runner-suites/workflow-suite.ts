/** Workflows on every store: the log and the fold, absorbed duplicates, durable timers across a restart. */
import { expect, it } from 'vitest';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { WorkflowRunner } from '../../src/sagas/workflow-runner.js';
import { eventually, sleep } from './helpers.js';
import { logTypes, orderWorkflow, stockHandlers } from './order-workflow.js';
import { expectSettledOnce, placeRacingOrders } from './order-workflow-checks.js';

export function workflowSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('workflows', (on) => {
    it('keeps every input and output in the instance log, in order, and its state is the fold', async () => {
      const store = await on.open();
      const seen = new Map<string, number>();
      const runner = await new WorkflowRunner(store, orderWorkflow, { handlers: stockHandlers(seen), pollIntervalMs: 50 }).start();
      try {
        const placed = await store.append('shop-1', [{ type: 'OrderPlaced', data: { orderId: '1' } }]);
        await runner.waitFor(placed.lastPosition);
        // The command was dispatched; its answer is an input too.
        await eventually(async () => (await logTypes(store, '1')).includes('in:StockReserved'), 10_000, 'StockReserved taken in');
        const paid = await store.append('pay-1', [{ type: 'PaymentReceived', data: { orderId: '1' } }]);
        await runner.waitFor(paid.lastPosition);
        expect(await logTypes(store, '1')).toEqual([
          'in:OrderPlaced',
          'cmd:ReserveStock',
          'WorkflowTimerScheduled',
          'in:StockReserved',
          'in:PaymentReceived',
          'WorkflowTimerCancelled',
          'WorkflowEventPublished',
          'WorkflowCompleted',
        ]);
        const instance = (await runner.queries.instance('1'))!;
        expect(instance.status).toBe('completed');
        expect(instance.result).toBe('paid');
        expect(instance.state).toEqual({ orderId: '1', reserved: true, paid: true });
        expect(instance.timers).toEqual([]);
        expect([...seen.entries()]).toEqual([['workflow-order-1/2', 1]]);
        const receipt = await store.loadStream('receipt-1');
        expect(receipt.events.map((e) => [e.type, e.data])).toEqual([['ReceiptIssued', { orderId: '1' }]]);
        expect((await runner.queries.instances({ status: 'completed' })).map((r) => [r.instanceId, r.version])).toEqual([['1', 8]]);
        expect(await runner.queries.instances({ status: 'running' })).toEqual([]);
      } finally {
        await runner.stop();
      }
    });

    it('absorbs an input it has taken before: every input delivered again, the logs unchanged', async () => {
      const store = await on.open();
      const seen = new Map<string, number>();
      const first = await new WorkflowRunner(store, orderWorkflow, { handlers: stockHandlers(seen), pollIntervalMs: 50 }).start();
      let last = 0n;
      for (const id of ['a', 'b', 'c']) last = (await store.append(`shop-${id}`, [{ type: 'OrderPlaced', data: { orderId: id } }])).lastPosition;
      await first.waitFor(last);
      await eventually(async () => (await first.queries.instances()).every((r) => r.version === 4), 10_000, 'stock reserved for each');
      await first.stop();
      const before = await Promise.all(['a', 'b', 'c'].map((id) => logTypes(store, id)));
      // A new partitioning has checkpoints of its own: it reads every input again from the start.
      const again = await new WorkflowRunner(store, orderWorkflow, { handlers: stockHandlers(seen), partition: { index: 0, count: 1 }, pollIntervalMs: 50 }).start();
      try {
        await again.waitFor(await store.headPosition());
        expect(again.status().counts).toMatchObject({ accepted: 0, duplicates: 6 });
        expect(await Promise.all(['a', 'b', 'c'].map((id) => logTypes(store, id)))).toEqual(before);
      } finally {
        await again.stop();
      }
    });

    it('fires a timer that fell due while no runner ran, once, after the restart, and records how late', async () => {
      const store = await on.open();
      const first = await new WorkflowRunner(store, orderWorkflow, { pollIntervalMs: 50 }).start();
      const placed = await store.append('shop-t', [{ type: 'OrderPlaced', data: { orderId: 't', payWithinMs: 300 } }]);
      await first.waitFor(placed.lastPosition);
      await first.stop();
      const [timer] = await first.queries.timers();
      expect(timer).toMatchObject({ instanceId: 't', timer: 'payment', fireId: 'timer:payment@3' });
      // Down past the due time.
      await sleep(Math.max(0, timer!.dueAt.getTime() - Date.now()) + 100);
      const restarted = await new WorkflowRunner(store, orderWorkflow, { pollIntervalMs: 50 }).start();
      try {
        await eventually(async () => (await restarted.queries.instance('t'))?.status === 'completed', 10_000, 'expired');
        expect(await restarted.fireDueTimers()).toBe(0);
        const instance = (await restarted.queries.instance('t'))!;
        expect(instance.result).toBe('expired');
        const fired = instance.log.filter((e) => (e.data as { input?: { type: string } }).input?.type === 'TimerFired');
        expect(fired).toHaveLength(1);
        const data = (fired[0]!.data as { input: { data: { latenessMs: number; dueAt: string } } }).input.data;
        expect(data.latenessMs).toBeGreaterThan(0);
        expect(data.dueAt).toBe(timer!.dueAt.toISOString());
        expect(restarted.status().timers).toMatchObject({ fired: 1 });
        expect(restarted.status().timers!.lastLatenessMs).toBeGreaterThan(0);
        expect(await restarted.queries.timers()).toEqual([]);
      } finally {
        await restarted.stop();
      }
    });

    it('settles answers racing timers once per order, with conflicts decided again (the memory store too: no writer left blocked)', { timeout: 60_000 }, async () => {
      const store = await on.open();
      const errors: unknown[] = [];
      const orders = 20;
      const runner = await new WorkflowRunner(store, orderWorkflow, { handlers: stockHandlers(new Map()), pollIntervalMs: 50, onError: (e) => errors.push(e) }).start();
      try {
        await placeRacingOrders(store, orders, 5, 10);
        await expectSettledOnce(runner.queries, orders);
        // A lost race is retried (on the memory store by the subscription, so it is heard here): never anything else.
        expect(errors.filter((e) => (e as { code?: string }).code !== 'CONCURRENCY_CONFLICT')).toEqual([]);
      } finally {
        await runner.stop();
      }
    });
  }, { stores });
}
