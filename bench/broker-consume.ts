/**
 * Consumer throughput on RabbitMQ + PostgreSQL: factum's `EventConsumer` without a store (no
 * inbox) and with a PostgreSQL store (each message in one transaction with its inbox row, acked
 * after the commit), beside raw amqplib consume + ack, raw amqplib + pg doing the inbox by
 * hand (BEGIN, INSERT the row, COMMIT, ack) per message, and the same by hand per batch (every
 * message a partition's channel holds, up to the prefetch: BEGIN, one INSERT of all their rows,
 * COMMIT, one ack of them all), in the same run. Every system drains the same number of
 * messages, published beforehand, from the same 4 partition queues with the same prefetch, in
 * order per partition (what per-key order allows); the handler does nothing else, so the figures
 * are the consumer's own cost. `EventConsumer` with a store hands a partition's held messages
 * to one transaction (a savepoint only for a handler that writes; this one writes nothing).
 *
 * Run alone with `npx tsx bench/broker-consume.ts [--quick]`, or through `npm run bench`, which
 * calls `runBrokerConsumeBench` and puts its rows beside the others.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import amqp from 'amqplib';
import pg from 'pg';
import type { RecordedEvent } from '../src/core/message.js';
import { openRabbitMqBroker, rabbitMqNames, type RabbitMqBroker } from '../src/rabbitmq.js';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { EventConsumer } from '../src/transport/consumer/event-consumer.js';
import { eventToMessage } from '../src/transport/message-envelope.js';
import { benchEvent } from './bench-event.js';
import { median, type BenchRow } from './bench-row.js';
import { nowSeconds } from './measure.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const PG_URL = process.env.FACTUM_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PARTITIONS = 4;
const PREFETCH = 16;
const SCENARIO = 'broker consume, RabbitMQ (4 partitions, prefetch 16)';
const RAW_INBOX = 'raw amqplib + pg inbox (BEGIN, INSERT, COMMIT, ack)';
const RAW_BATCHED_INBOX = 'raw amqplib + pg batched inbox (BEGIN, INSERT n rows, COMMIT, ack n)';
const FACTUM_INBOX = 'factum (EventConsumer + PostgreSQL inbox)';

/** Fresh events (new ids: the inbox would absorb old ones) over 200 streams. */
function messagesOf(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const streamId = `order-${i % 200}`;
    const event: RecordedEvent = { ...benchEvent(streamId, i), schemaVersion: 1, streamId, streamVersion: Math.floor(i / 200) + 1, globalPosition: BigInt(i + 1), recordedAt: new Date() };
    return eventToMessage(event);
  });
}

/** Resolves once `count` messages are done, as `done()` says each time one is. */
function countdown(count: number): { done: () => void; all: Promise<void> } {
  let left = count;
  let resolve!: () => void;
  const all = new Promise<void>((r) => (resolve = r));
  return { done: () => void (--left === 0 && resolve()), all };
}

/** Raw amqplib on the partition queues: one channel per queue, prefetch 16, each message handled then acked, one at a time per queue. */
async function rawDrain(connection: amqp.ChannelModel, topic: string, group: string, count: number, handle: (message: amqp.ConsumeMessage) => Promise<void>): Promise<number> {
  const { done, all } = countdown(count);
  const channels: amqp.Channel[] = [];
  const start = nowSeconds();
  for (let p = 0; p < PARTITIONS; p++) {
    const channel = await connection.createChannel();
    await channel.prefetch(PREFETCH);
    let tail = Promise.resolve();
    await channel.consume(rabbitMqNames.partitionQueue(topic, group, p), (message) => {
      if (!message) return;
      tail = tail.then(async () => {
        await handle(message);
        channel.ack(message);
        done();
      });
    });
    channels.push(channel);
  }
  await all;
  const seconds = nowSeconds() - start;
  for (const channel of channels) await channel.close();
  return seconds;
}

/** Raw amqplib on the partition queues, each channel's held messages handled together: `handle` gets them all, then one ack (`allUpTo`) settles them. */
async function rawBatchedDrain(connection: amqp.ChannelModel, topic: string, group: string, count: number, handle: (messages: amqp.ConsumeMessage[]) => Promise<void>): Promise<number> {
  const { done, all } = countdown(count);
  const channels: amqp.Channel[] = [];
  const start = nowSeconds();
  for (let p = 0; p < PARTITIONS; p++) {
    const channel = await connection.createChannel();
    await channel.prefetch(PREFETCH);
    const pending: amqp.ConsumeMessage[] = [];
    let busy = false;
    const pump = async (): Promise<void> => {
      if (busy || pending.length === 0) return;
      busy = true;
      const batch = pending.splice(0, PREFETCH);
      await handle(batch);
      channel.ack(batch.at(-1)!, true);
      for (let i = 0; i < batch.length; i++) done();
      busy = false;
      void pump();
    };
    await channel.consume(rabbitMqNames.partitionQueue(topic, group, p), (message) => {
      if (!message) return;
      pending.push(message);
      void pump();
    });
    channels.push(channel);
  }
  await all;
  const seconds = nowSeconds() - start;
  for (const channel of channels) await channel.close();
  return seconds;
}

async function factumDrain(consumer: () => EventConsumer, count: number): Promise<number> {
  const running = consumer();
  const start = nowSeconds();
  await running.start();
  while (running.status().handled + running.status().duplicates < count) await new Promise((resolve) => setTimeout(resolve, 2));
  const seconds = nowSeconds() - start;
  await running.stop();
  return seconds;
}

/**
 * The rows of scenario 7: messages/s of each system, median of the rounds, rounds interleaved.
 *
 * @example
 * const rows = await runBrokerConsumeBench({ quick: true })
 */
export async function runBrokerConsumeBench(options: { quick: boolean }, log: (message: string) => void = () => {}): Promise<BenchRow[]> {
  const count = options.quick ? 1_000 : 10_000;
  const rounds = options.quick ? 1 : 5;
  const topic = `factum-bench-consume-${process.pid}-${randomUUID().slice(0, 6)}`;
  const group = 'bench';
  const schema = `bench_consume_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  let broker: RabbitMqBroker;
  try {
    broker = await openRabbitMqBroker({ url: AMQP_URL, partitions: PARTITIONS, prefetch: PREFETCH });
  } catch (error) {
    return [{ scenario: SCENARIO, backend: 'postgres', system: 'factum', unit: '', note: `skipped: ${(error as Error).message}` }];
  }
  const store = await openPostgresEventStore({ connection: PG_URL, schema, maxConnections: 8 });
  const pool = new pg.Pool({ connectionString: PG_URL, max: 8 });
  const connection = await amqp.connect(AMQP_URL);
  await pool.query(`CREATE TABLE ${schema}.raw_inbox (consumer text NOT NULL, message_id text NOT NULL, PRIMARY KEY (consumer, message_id))`);
  const consumer = (withStore: boolean) => () => new EventConsumer({ name: group, broker, topic, ...(withStore ? { store } : {}), prefetch: PREFETCH, handler: () => {} });
  const systems: Array<{ system: string; drain: () => Promise<number> }> = [
    { system: 'raw', drain: () => rawDrain(connection, topic, group, count, async () => {}) },
    {
      system: RAW_INBOX,
      drain: () =>
        rawDrain(connection, topic, group, count, async (message) => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query(`INSERT INTO ${schema}.raw_inbox VALUES ($1, $2) ON CONFLICT DO NOTHING`, [group, String(message.properties.messageId)]);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        }),
    },
    {
      system: RAW_BATCHED_INBOX,
      drain: () =>
        rawBatchedDrain(connection, topic, group, count, async (messages) => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query(`INSERT INTO ${schema}.raw_inbox SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, [group, messages.map((m) => String(m.properties.messageId))]);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        }),
    },
    { system: 'factum (EventConsumer, no store)', drain: () => factumDrain(consumer(false), count) },
    { system: FACTUM_INBOX, drain: () => factumDrain(consumer(true), count) },
  ];
  const samples = new Map<string, number[]>(systems.map((s) => [s.system, []]));
  try {
    // Declares the group's queues.
    await (await broker.consume({ topic, group, handler: async () => {} })).stop();
    const run = async (system: (typeof systems)[number], record: boolean) => {
      const messages = messagesOf(count);
      for (let i = 0; i < messages.length; i += 500) {
        const results = await broker.publish(topic, messages.slice(i, i + 500));
        if (results.some((r) => r.status !== 'confirmed')) throw new Error('a message was not confirmed');
      }
      const seconds = await system.drain();
      if (record) samples.get(system.system)!.push(count / seconds);
    };
    for (const system of systems) await run(system, false);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + round) % systems.length]!;
        await run(system, true);
        log(`${system.system}: ${Math.round(samples.get(system.system)!.at(-1)!)} msg/s`);
      }
    }
  } finally {
    await broker.deleteTopology(topic, [group]).catch(() => {});
    await broker.close();
    await connection.close().catch(() => {});
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await pool.end();
  }
  const byHand = median(samples.get(RAW_INBOX)!);
  const byHandBatched = median(samples.get(RAW_BATCHED_INBOX)!);
  return systems.map(({ system }) => {
    const values = samples.get(system)!;
    const mid = median(values);
    return {
      scenario: SCENARIO,
      backend: 'postgres' as const,
      system,
      unit: 'msg/s',
      median: mid,
      samples: values,
      spread: (Math.max(...values) - Math.min(...values)) / mid,
      extra: { messages: count, ...(system === FACTUM_INBOX ? { 'vs raw + pg inbox': (mid / byHand).toFixed(2), 'vs raw + pg batched inbox': (mid / byHandBatched).toFixed(2) } : {}) },
    };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const rows = await runBrokerConsumeBench({ quick }, (message) => console.log(message));
  const raw = rows.find((r) => r.system === 'raw')?.median;
  for (const row of rows) console.log(`${row.system.padEnd(52)} ${String(Math.round(row.median ?? 0)).padStart(7)} msg/s${raw && row.median ? `  (${(row.median / raw).toFixed(2)} of raw)` : ''}`);
}
