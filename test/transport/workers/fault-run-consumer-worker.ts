/**
 * An EventConsumer process for the fault run: its handler writes one effect row per event through
 * context.sql, in the inbox transaction. Prints "ready", then "status <handled> <duplicates>"
 * whenever they change, so that the run can count what the inbox absorbed until the kill.
 * Usage: node --import tsx fault-run-consumer-worker.ts <broker kind> <broker url> <postgres url> <schema> <topic> <table> <worker name> [<prefetch>]
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { EventConsumer } from '../../../src/transport/consumer/event-consumer.js';
import { openWorkerBroker } from './open-worker-broker.js';

const [brokerKind, brokerUrl, pgUrl, schema, topic, table, worker, prefetch] = process.argv.slice(2) as [string, string, string, string, string, string, string, string | undefined];
const store = await openPostgresEventStore({ connection: pgUrl, schema, maxConnections: 5, migrate: false });
const broker = await openWorkerBroker(brokerKind, brokerUrl, 'consumer');
const consumer = await new EventConsumer({
  name: 'inventory',
  broker,
  topic,
  store,
  ...(prefetch ? { prefetch: Number(prefetch) } : {}),
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
