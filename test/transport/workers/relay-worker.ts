/**
 * One relay on PostgreSQL publishing to RabbitMQ, until killed: every event to topic <topic>.
 * Prints "ready <state>", then "state <state>" and "published <count>" whenever they change.
 * Usage: node --import tsx relay-worker.ts <postgres url> <schema> <amqp url> <topic> <batch size> <standby 0|1> [<max in flight>]
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { openRabbitMqBroker } from '../../../src/rabbitmq.js';
import { Relay } from '../../../src/transport/relay/relay.js';

const [url, schema, amqpUrl, topic, batchSize, standby, maxInFlight] = process.argv.slice(2) as [string, string, string, string, string, string, string | undefined];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 3 });
const broker = await openRabbitMqBroker({ url: amqpUrl, partitions: 4 });
const relay = new Relay(store, { name: 'outbox', broker, route: () => topic, batchSize: Number(batchSize), standby: standby === '1', leaseMs: 1500, pollIntervalMs: 100, ...(maxInFlight ? { maxInFlight: Number(maxInFlight) } : {}) });
await relay.start();
let { state, published } = relay.status();
process.stdout.write(`ready ${state}\n`);
setInterval(() => {
  const now = relay.status();
  if (now.state !== state) process.stdout.write(`state ${(state = now.state)}\n`);
  if (now.published !== published) process.stdout.write(`published ${(published = now.published)}\n`);
}, 20);
