import { PGlite } from '@electric-sql/pglite';
import { z } from 'zod';
import { EventConsumer, EventRegistry, MemoryBroker, defineEvent, eventToMessage, openEventStore } from 'factum';

// The billing service knows OrderPlaced at version 2; the orders service still publishes version 1.
const OrderPlaced = defineEvent('OrderPlaced', z.object({ total: z.number() }))
  .withVersion(2, z.object({ total: z.number(), currency: z.string() }), (v1) => ({ ...v1, currency: 'EUR' }));

const billingStore = await openEventStore(new PGlite()); // the embedded store, in memory; or PostgreSQL
await billingStore.transaction((tx) => tx.sql.query('CREATE TABLE invoices (order_id text PRIMARY KEY, total integer NOT NULL)'));
const broker = new MemoryBroker(); // or openRabbitMqBroker() from 'factum/rabbitmq'

const billing = await new EventConsumer({
  name: 'billing',
  broker,
  topic: 'order',
  store: billingStore, // inbox row, SQL and appends commit in one transaction; the ack follows the commit
  registry: new EventRegistry([OrderPlaced]),
  retry: { immediateRetries: 1, backoffRetries: 1, initialDelayMs: 10 },
  handler: async (event, context) => {
    const { total, currency } = event.data as { total: number; currency: string }; // upcast to v2
    if (total > 1000) throw new Error('credit check unavailable'); // retried, then a dead letter
    await context.sql!.query('INSERT INTO invoices VALUES ($1, $2)', [event.streamId, total]);
    await context.append(`invoice-${event.streamId}`, [{ type: 'InvoiceIssued', data: { total, currency } }]);
  },
}).start();

// What the orders service's relay publishes: its events as messages (id = event id, key = stream id).
const orders = await openEventStore('memory:');
await orders.append('order-1', [{ type: 'OrderPlaced', schemaVersion: 1, data: { total: 42 } }]);
await orders.append('order-2', [{ type: 'OrderPlaced', schemaVersion: 1, data: { total: 5000 } }]);
const messages = [];
for await (const event of orders.readAll()) messages.push(eventToMessage(event));
await broker.publish('order', [...messages, messages[0]!]); // order-1 twice, as after a relay's crash

const settled = () => billing.status().handled + billing.status().duplicates + billing.status().deadLettered;
while (settled() < 3) await new Promise((resolve) => setTimeout(resolve, 10));
const { handled, duplicates, retried, deadLettered } = billing.status();
console.log(`handled ${handled}, duplicates ${duplicates}, retried ${retried}, dead letters ${deadLettered}`);
const [letter] = await billing.deadLetters();
console.log(`dead letter ${letter!.message.key} after ${letter!.attempts} attempts: ${letter!.error}`);
await billing.skipDeadLetter(letter!.message.id); // or retryDeadLetter, once the credit check is back

const rows = await billingStore.transaction(async (tx) => (await tx.sql.query<{ order_id: string; total: number }>('SELECT * FROM invoices')).rows);
const { events } = await billingStore.loadStream('invoice-order-1');
console.log(`invoices: ${rows.map((r) => `${r.order_id} ${r.total}`).join(', ')}; ${events[0]!.type} ${JSON.stringify(events[0]!.data)}`);
await billing.stop();
await broker.close();
await billingStore.close();
await orders.close();
