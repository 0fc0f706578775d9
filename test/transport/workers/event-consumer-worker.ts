/**
 * An EventConsumer process on RabbitMQ + PostgreSQL whose handler writes one row per message.
 * In mode `kill-after-commit` it SIGKILLs itself as soon as its first message's transaction has
 * committed, before the ack. In mode `poison` its handler fails (no retry) for an event whose
 * data says `poison: true`, so that the message becomes its key's dead letter. Usage:
 * node --import tsx event-consumer-worker.ts <amqp url> <postgres url> <schema> <topic> <table> <worker name> <mode> <handler delay ms>
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openRabbitMqBroker } from '../../../src/rabbitmq.js';
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { EventConsumer } from '../../../src/transport/consumer/event-consumer.js';

const [amqpUrl, pgUrl, schema, topic, table, worker, mode, delay] = process.argv.slice(2) as [string, string, string, string, string, string, string, string];
const store = await openPostgresEventStore({ connection: pgUrl, schema, maxConnections: 5, migrate: false });
const broker = await openRabbitMqBroker({ url: amqpUrl, partitions: 4, deliveryLimit: 10 });
let killing = false;
await new EventConsumer({
  name: 'inventory',
  broker,
  topic,
  store,
  ...(mode === 'poison' ? { retry: { immediateRetries: 0, backoffRetries: 0 } } : {}),
  handler: async (event, context) => {
    if (Number(delay) > 0) await sleep(Number(delay));
    if (mode === 'poison' && (event.data as { poison?: boolean } | null)?.poison) throw new Error('poison');
    await context.sql!.query(`INSERT INTO ${table} (event_id, stream_id, stream_version, worker) VALUES ($1, $2, $3, $4)`, [event.id, event.streamId, event.streamVersion, worker]);
    if (mode === 'kill-after-commit' && !killing) {
      killing = true;
      // Runs once the transaction committed, before the consumer gets to its ack.
      void context.committed.then((committed) => committed && process.kill(process.pid, 'SIGKILL'));
    }
  },
}).start();
process.stdout.write('ready\n');
