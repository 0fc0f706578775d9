/**
 * An EventConsumer process for the fault run: its handler writes one effect row per event through
 * context.sql, in the inbox transaction. Prints "ready", then "status <handled> <duplicates>"
 * whenever they change, so that the run can count what the inbox absorbed until the kill.
 * Usage: node --import tsx fault-run-consumer-worker.ts <amqp url> <postgres url> <schema> <topic> <table> <worker name>
 */
import { openRabbitMqBroker } from '../../../src/rabbitmq.js';
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { EventConsumer } from '../../../src/transport/consumer/event-consumer.js';

const [amqpUrl, pgUrl, schema, topic, table, worker] = process.argv.slice(2) as [string, string, string, string, string, string];
const store = await openPostgresEventStore({ connection: pgUrl, schema, maxConnections: 5, migrate: false });
// Reconnect quickly after the RabbitMQ restart; a delivery limit well above the redeliveries ten kills can cause.
const broker = await openRabbitMqBroker({ url: amqpUrl, partitions: 4, deliveryLimit: 50, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
const consumer = await new EventConsumer({
  name: 'inventory',
  broker,
  topic,
  store,
  handler: async (event, context) => {
    await context.sql!.query(`INSERT INTO ${table} (event_id, stream_id, stream_version, worker) VALUES ($1, $2, $3, $4)`, [event.id, event.streamId, event.streamVersion, worker]);
  },
}).start();
process.stdout.write('ready\n');
let last = '';
setInterval(() => {
  const { handled, duplicates } = consumer.status();
  const now = `status ${handled} ${duplicates}\n`;
  if (now !== last) process.stdout.write((last = now));
}, 20);
