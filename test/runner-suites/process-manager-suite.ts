/** Process managers on every store: one instance per correlation id, fed by the streams of other services. */
import { expect, it } from 'vitest';
import { defineProcessManager } from '../../src/sagas/define-process-manager.js';
import { complete, send } from '../../src/sagas/workflow.js';
import { WorkflowRunner } from '../../src/sagas/workflow-runner.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';

type Paid = { type: 'PaymentSucceeded'; data: { orderId: string } };
type Reserved = { type: 'InventoryReserved'; data: { orderId: string } };
type Ship = { type: 'ShipOrder'; data: { orderId: string } };
type State = { paid: boolean; reserved: boolean };

const seen = (state: State, input: { type: string }): State => ({ paid: state.paid || input.type === 'PaymentSucceeded', reserved: state.reserved || input.type === 'InventoryReserved' });

const shipping = defineProcessManager<State, Paid | Reserved, Ship>({
  name: 'shipping',
  inputs: ['PaymentSucceeded', 'InventoryReserved'],
  initialState: () => ({ paid: false, reserved: false }),
  evolve: seen,
  decide: (input, state) => {
    const next = seen(state, input);
    if (!next.paid || !next.reserved || input.type === 'TimerFired' || input.type === 'LockAcquired' || input.type === 'LockBusy') return [];
    return [send({ type: 'ShipOrder', data: { orderId: input.data.orderId } }), complete('shipped')];
  },
});

export function processManagerSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('defineProcessManager', (on) => {
  it('keeps one instance per correlation id across the streams of two services, and ignores inputs without one', async () => {
    const store = await on.open();
    const shipped: Array<{ orderId: string; correlationId: string | undefined }> = [];
    const runner = await new WorkflowRunner(store, shipping, {
      handlers: { ShipOrder: async (command) => void shipped.push({ orderId: command.data.orderId, correlationId: command.metadata?.correlationId }) },
    }).start();
    try {
      // Each half of a process arrives in another service's stream; the two processes interleave.
      await store.append('payment-1', [{ type: 'PaymentSucceeded', data: { orderId: '1' }, metadata: { correlationId: 'c-1' } }]);
      await store.append('payment-2', [{ type: 'PaymentSucceeded', data: { orderId: '2' }, metadata: { correlationId: 'c-2' } }]);
      await store.append('inventory-x', [{ type: 'InventoryReserved', data: { orderId: '2' }, metadata: { correlationId: 'c-2' } }]);
      await store.append('inventory-y', [{ type: 'InventoryReserved', data: { orderId: '9' } }]);
      await store.append('inventory-x', [{ type: 'InventoryReserved', data: { orderId: '1' }, metadata: { correlationId: 'c-1' } }]);
      const first = await runner.waitForCompletion('c-1');
      const second = await runner.waitForCompletion('c-2');
      expect([first.result, second.result]).toEqual(['shipped', 'shipped']);
      await runner.waitFor(await store.headPosition());
      expect(shipped.sort((a, b) => a.orderId.localeCompare(b.orderId))).toEqual([
        { orderId: '1', correlationId: 'c-1' },
        { orderId: '2', correlationId: 'c-2' },
      ]);
      // The uncorrelated reservation started no process.
      expect((await runner.queries.instances()).map((i) => i.instanceId).sort()).toEqual(['c-1', 'c-2']);
    } finally {
      await runner.stop();
    }
  });
  }, { stores });
}
