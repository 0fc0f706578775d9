import { cancel, complete, defineWorkflow, openEventStore, schedule, send, WorkflowRunner } from 'factum';
import { timerFired, WorkflowSpecification } from 'factum/testing';

type Input = { type: 'OrderPlaced'; data: { orderId: string; amount: number; payWithinMs: number } } | { type: 'CardCharged'; data: { orderId: string } };
type Command = { type: 'ChargeCard'; data: { orderId: string; amount: number } };

// A decider over messages: inputs in; commands, timers and completion out. `decide` is pure.
const checkout = defineWorkflow<{ orderId?: string }, Input, Command>({
  name: 'checkout',
  inputs: ['OrderPlaced', 'CardCharged'],
  id: (event) => event.data.orderId, // the instance each input belongs to
  initialState: () => ({}),
  evolve: (state, input) => (input.type === 'OrderPlaced' ? { orderId: input.data.orderId } : state),
  decide: (input, state) => {
    if (input.type === 'OrderPlaced') {
      const { orderId, amount, payWithinMs } = input.data;
      return [send({ type: 'ChargeCard', data: { orderId, amount } }), schedule('payment', { afterMs: payWithinMs })];
    }
    if (input.type === 'CardCharged') return [cancel('payment'), complete('paid')];
    return [complete(`expired (${state.orderId} was never charged)`)]; // the durable timer fired
  },
});

const store = await openEventStore('memory:');
const charged: string[] = [];
const runner = await new WorkflowRunner(store, checkout, {
  handlers: {
    // At-least-once, with a deterministic id: a real receiver records `commandId` with its effect.
    ChargeCard: async (command, { commandId, store }) => {
      if (command.data.amount > 100) return; // needs a manual approval that never comes
      charged.push(commandId);
      await store.append(`payment-${command.data.orderId}`, [{ type: 'CardCharged', data: { orderId: command.data.orderId } }]);
    },
  },
}).start();

await store.append('order-1', [{ type: 'OrderPlaced', data: { orderId: '1', amount: 40, payWithinMs: 60_000 } }]);
await store.append('order-2', [{ type: 'OrderPlaced', data: { orderId: '2', amount: 500, payWithinMs: 50 } }]);
const paid = await runner.waitForCompletion('1');
console.log(`1: ${String(paid.result)}; log: ${paid.log.map((e) => e.type.replace('Workflow', '')).join(', ')}`);
console.log(`2: ${String((await runner.waitForCompletion('2')).result)}`);
console.log(`charged ${charged.join(', ')}; running: ${(await runner.queries.instances({ status: 'running' })).length}`);
await runner.stop();

// In a test, with no store:
const spec = WorkflowSpecification.for(checkout);
spec.given([{ type: 'OrderPlaced', data: { orderId: '3', amount: 1, payWithinMs: 10 } }]).when(timerFired('payment')).then([complete('expired (3 was never charged)')]);
