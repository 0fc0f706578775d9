import { MemoryBroker, eventToMessage, messageToEvent, openEventStore } from 'factum';

const store = await openEventStore('memory:');
const broker = new MemoryBroker(); // the same contract as openRabbitMqBroker() from 'factum/rabbitmq'

// A consumer group: each message reaches every group once, and one consumer within it, in order per key (stream id).
const consumer = await broker.consume({
  topic: 'orders',
  group: 'billing',
  handler: async (delivery) => {
    const event = messageToEvent(delivery.message);
    if (event.type === 'PaymentFailed' && delivery.attempt < 3) return delivery.retry(10, new Error('gateway down')); // later, same key waits
    if (event.type === 'PaymentFailed') return delivery.deadLetter(new Error('card declined')); // parked with its error
    console.log(`billed ${event.streamId} v${event.streamVersion} (${event.type}, attempt ${delivery.attempt})`);
    await delivery.ack();
  },
});

await store.append('order-1', [
  { type: 'OrderPlaced', data: { total: 42 } },
  { type: 'PaymentFailed', data: {} },
]);
const messages = [];
for await (const event of store.readStream('order-1')) messages.push(eventToMessage(event)); // id = event id, key = stream id
const results = await broker.publish('orders', messages); // resolves once the broker answered for each
console.log(results.map((r) => r.status).join(', '));

for (;;) {
  const [letter] = await broker.deadLetters('orders', 'billing').list();
  if (letter) {
    console.log(`dead letter: ${letter.message.headers['factum-event-type']} after ${letter.attempts} attempts: ${letter.error}`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await consumer.stop();
await broker.close();
await store.close();
