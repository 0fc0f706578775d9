/**
 * One relay on PostgreSQL publishing to a broker (rabbitmq, redis or nats), until killed: every
 * event to topic <topic>. Prints "ready <state>", then "state <state>" and "published <count>"
 * whenever they change.
 * Usage: node --import tsx relay-worker.ts <postgres url> <schema> <broker kind> <broker url> <topic> <batch size> <standby 0|1> [<max in flight>]
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { Relay } from '../../../src/transport/relay/relay.js';
import { openWorkerBroker } from './open-worker-broker.js';

const [url, schema, brokerKind, brokerUrl, topic, batchSize, standby, maxInFlight] = process.argv.slice(2) as [string, string, string, string, string, string, string, string | undefined];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 3 });
const broker = await openWorkerBroker(brokerKind, brokerUrl, 'relay');
const relay = new Relay(store, { name: 'outbox', broker, route: () => topic, batchSize: Number(batchSize), standby: standby === '1', leaseMs: 1500, pollIntervalMs: 100, ...(maxInFlight ? { maxInFlight: Number(maxInFlight) } : {}) });
await relay.start();
let { state, published } = relay.status();
process.stdout.write(`ready ${state}\n`);
setInterval(() => {
  const now = relay.status();
  if (now.state !== state) process.stdout.write(`state ${(state = now.state)}\n`);
  if (now.published !== published) process.stdout.write(`published ${(published = now.published)}\n`);
}, 20);
