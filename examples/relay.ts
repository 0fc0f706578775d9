import { PGlite } from '@electric-sql/pglite';
import { MemoryBroker, Relay, messageToEvent, openEventStore } from 'factum';

const store = await openEventStore(new PGlite()); // the embedded store, in memory; the same on PostgreSQL
const broker = new MemoryBroker(); // or openRabbitMqBroker() from 'factum/rabbitmq'
await store.transaction((tx) => tx.sql.query('CREATE TABLE stock (sku text PRIMARY KEY, quantity integer NOT NULL)'));

// Another service listens on topic 'stock' (the stream's category, where the relay routes by default).
const received: string[] = [];
const consumer = await broker.consume({
  topic: 'stock',
  group: 'storefront',
  handler: async (delivery) => {
    const event = messageToEvent(delivery.message);
    received.push(`${event.type} ${JSON.stringify(event.data)} (message id = event id: ${delivery.message.id === event.id})`);
  },
});

// The relay tails the log: it publishes what committed, a page at a time, and checkpoints after the broker's confirms.
const relay = await new Relay(store, { name: 'outbox', broker }).start();

// A state-stored service: its row and its event commit together or not at all; the relay publishes the event.
const restock = (sku: string, quantity: number) =>
  store.transaction(async (tx) => {
    await tx.sql.query('INSERT INTO stock VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET quantity = stock.quantity + $2', [sku, quantity]);
    return tx.append(`stock-${sku}`, [{ type: 'Restocked', data: { sku, quantity } }]);
  });
await restock('apple', 10);
await store
  .transaction(async (tx) => {
    await tx.sql.query("INSERT INTO stock VALUES ('pear', 3)");
    await tx.append('stock-pear', [{ type: 'Restocked', data: { sku: 'pear', quantity: 3 } }]);
    throw new Error('the scale is broken');
  })
  .catch((error: Error) => console.log(`rolled back (${error.message}): no row, no event, nothing published`));
const { lastPosition } = await restock('apple', 5);

await relay.waitFor(lastPosition); // everything up to here is confirmed by the broker
while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
console.log(received.join('\n'));
const { published, lagEvents } = relay.status();
console.log(`relay: ${published} published, lag ${lagEvents} events`);
await relay.stop();
await consumer.stop();
await broker.close();
await store.close();
