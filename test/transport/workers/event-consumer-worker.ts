/**
 * An EventConsumer process on RabbitMQ + PostgreSQL whose handler writes one row per message.
 * In mode `kill-after-commit` it SIGKILLs itself as soon as its first message's transaction has
 * committed, before the ack. In mode `poison` its handler fails (no retry) for an event whose
 * data says `poison: true`, so that the message becomes its key's dead letter. In mode
 * `kill-mid-batch` it SIGKILLs itself inside a batch's transaction, at a handler (from the 5th on)
 * that runs in the same transaction as the one before it, after printing `killing <n in tx> <their event ids>`. Usage:
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
let lastTx = '';
let inTx = 0;
let txEvents: string[] = [];
let calls = 0;
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
    if (mode === 'kill-mid-batch') {
      const { rows } = await context.sql!.query<{ tx: string }>('SELECT txid_current()::text AS tx');
      inTx = rows[0]!.tx === lastTx ? inTx + 1 : 1;
      txEvents = inTx === 1 ? [event.id] : [...txEvents, event.id];
      lastTx = rows[0]!.tx;
      if (++calls >= 5 && inTx >= 2) {
        process.stdout.write(`killing ${inTx} ${txEvents.join(',')}\n`, () => process.kill(process.pid, 'SIGKILL'));
        await new Promise(() => {});
      }
    }
    if (mode === 'kill-after-commit' && !killing) {
      killing = true;
      // Runs once the transaction committed, before the consumer gets to its ack.
      void context.committed.then((committed) => committed && process.kill(process.pid, 'SIGKILL'));
    }
  },
}).start();
process.stdout.write('ready\n');
