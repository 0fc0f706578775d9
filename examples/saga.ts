import { defineSaga, openEventStore, WorkflowRunner, type SagaResult, type WorkflowCommandHandler } from 'factum';

type Order = { orderId: string; card: 'ok' | 'declined' | 'no answer' };
type Start = { type: 'OrderPlaced'; data: Order };
type Reply = { type: 'StockReserved' | 'StockReleased' | 'PaymentAuthorised' | 'PaymentDeclined' | 'PaymentCaptured'; data: { orderId: string } };
type Command = { type: 'ReserveStock' | 'ReleaseStock' | 'AuthorisePayment' | 'VoidAuthorisation' | 'CapturePayment'; data: Order };

// Steps in order, each with its compensation; the last one cannot be undone, so it has none.
const checkout = defineSaga<Start, Reply, Command>({
  name: 'checkout',
  start: 'OrderPlaced',
  id: (event) => event.data.orderId,
  steps: [
    {
      name: 'reserve',
      command: ({ start }) => ({ type: 'ReserveStock', data: start }),
      completedOn: 'StockReserved',
      compensation: { command: ({ start }) => ({ type: 'ReleaseStock', data: start }), completedOn: 'StockReleased' },
    },
    {
      name: 'authorise',
      command: ({ start }) => ({ type: 'AuthorisePayment', data: start }),
      completedOn: 'PaymentAuthorised',
      failedOn: 'PaymentDeclined',
      timeoutMs: 200, // a durable timer: it fires after a restart too
      compensation: { command: ({ start }) => ({ type: 'VoidAuthorisation', data: start }) },
    },
    { name: 'capture', command: ({ start }) => ({ type: 'CapturePayment', data: start }), completedOn: 'PaymentCaptured' },
  ],
});

const store = await openEventStore('memory:');
const done: string[] = [];
// The services: each command comes with a deterministic id (a real receiver keeps it with its effect).
const service = (reply: (order: Order) => Reply['type'] | undefined): WorkflowCommandHandler<Command> => async (command, { commandId, store }) => {
  done.push(commandId.slice('workflow-checkout-'.length));
  const type = reply(command.data);
  if (type) await store.append(`${command.type}-${command.data.orderId}`, [{ type, data: { orderId: command.data.orderId } }]);
};
const runner = await new WorkflowRunner(store, checkout, {
  handlers: {
    ReserveStock: service(() => 'StockReserved'),
    ReleaseStock: service(() => 'StockReleased'),
    AuthorisePayment: service((order) => (order.card === 'ok' ? 'PaymentAuthorised' : order.card === 'declined' ? 'PaymentDeclined' : undefined)),
    VoidAuthorisation: service(() => undefined),
    CapturePayment: service(() => 'PaymentCaptured'),
  },
}).start();

for (const [orderId, card] of [['1', 'ok'], ['2', 'declined'], ['3', 'no answer']] as const) {
  await store.append(`order-${orderId}`, [{ type: 'OrderPlaced', data: { orderId, card } }]);
  const { result } = await runner.waitForCompletion(orderId);
  const { outcome, failure } = result as unknown as SagaResult;
  console.log(`order ${orderId}: ${outcome}${failure ? ` (${failure.step}: ${failure.reason})` : ''}; ${done.splice(0).join(', ')}`);
}
// The saga's log is a stream: every input it accepted and every output it produced.
const { log } = (await runner.queries.instance('3'))!;
const entry = (e: (typeof log)[number]) => {
  const data = e.data as { input?: { type: string }; command?: { type: string } };
  return data.input ? `in ${data.input.type}` : data.command ? `out ${data.command.type}` : e.type.replace('Workflow', '');
};
console.log(`order 3's log: ${log.map(entry).join(', ')}`);
await runner.stop();
