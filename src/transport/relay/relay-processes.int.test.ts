// The relay as a real process on PostgreSQL and RabbitMQ: SIGKILLed mid-run with pages in flight
// and restarted it loses nothing and repeats only what was past its checkpoint; two processes with one name: one
// publishes, the standby takes over when it dies.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { consumerStorageFor } from '../../consumers/consumer-storage.js';
import { openPostgresEventStore, type PostgresEventStore } from '../../store/postgres/postgres-event-store.js';
import { openRabbitMqBroker, type RabbitMqBroker } from '../../rabbitmq.js';
import type { BrokerMessage } from '../broker-message.js';
import { messageToEvent } from '../message-envelope.js';
import { kill, spawnWorker, type Worker } from '../../../test/runner-suites/processes.js';
import { ev, eventually, sleep } from '../../../test/runner-suites/helpers.js';
import { CONTRACT_SETTINGS } from '../../../test/transport/broker-contract.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable, serviceUnavailable } from '../../../test/services.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const skip = (await postgresUnavailable()) ?? (await serviceUnavailable('RabbitMQ', 5672));
afterAll(() => dropSchemas(createdSchemas));

const WORKER = '../../transport/workers/relay-worker.ts';

interface Setup {
  store: PostgresEventStore;
  broker: RabbitMqBroker;
  schema: string;
  topic: string;
  received: BrokerMessage[];
  spawn(batchSize: number, standby: boolean, maxInFlight?: number): Worker;
  /** The ids of every event in the log, in order. */
  logIds(): Promise<string[]>;
  close(): Promise<void>;
}

async function setUp(): Promise<Setup> {
  const schema = uniqueSchema();
  createdSchemas.push(schema);
  const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
  const broker = await openRabbitMqBroker({ url: AMQP_URL, ...CONTRACT_SETTINGS });
  const topic = `relay-test-${randomUUID().slice(0, 8)}`;
  const received: BrokerMessage[] = [];
  const consumer = await broker.consume({ topic, group: 'g', prefetch: 64, handler: async (d) => void received.push(d.message) });
  const workers: Worker[] = [];
  return {
    store,
    broker,
    schema,
    topic,
    received,
    spawn(batchSize, standby, maxInFlight) {
      const worker = spawnWorker(WORKER, [POSTGRES_URL, schema, 'rabbitmq', AMQP_URL, topic, String(batchSize), standby ? '1' : '0', ...(maxInFlight ? [String(maxInFlight)] : [])]);
      workers.push(worker);
      return worker;
    },
    async logIds() {
      const ids: string[] = [];
      for await (const e of store.readAll()) ids.push(e.id);
      return ids;
    },
    async close() {
      for (const worker of workers) await kill(worker);
      await consumer.stop();
      await broker.deleteTopology(topic, ['g']);
      await broker.close();
      await store.close();
    },
  };
}

/** Per stream, the versions in the order they first arrived: duplicates aside, each stream in order. */
function firstArrivals(messages: BrokerMessage[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byStream = new Map<string, number[]>();
  for (const event of messages.map(messageToEvent)) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event.streamVersion]);
  }
  return byStream;
}

describe.skipIf(Boolean(skip))(`relay processes on PostgreSQL and RabbitMQ${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('SIGKILLed three times mid-run with pages in flight and restarted: every event published, duplicates only of events past the checkpoint at each kill (at most the window), same ids', { timeout: 120_000 }, async () => {
    const setup = await setUp();
    const { store, received } = setup;
    const batchSize = 50;
    const maxInFlight = 200;
    const streams = 40;
    const total = 3000;
    const positionOf = (m: BrokerMessage) => messageToEvent(m).globalPosition;
    try {
      let appended = 0;
      const appendUpTo = async (count: number) => {
        for (; appended < count; appended += 10) {
          await store.append(`order-${(appended / 10) % streams}`, Array.from({ length: 10 }, (_, i) => ev('Happened', { n: appended + i })));
        }
      };
      await appendUpTo(1000);
      const producing = appendUpTo(total);
      let relay = setup.spawn(batchSize, false, maxInFlight);
      await relay.ready;
      // Per kill: the events received that lay past the stored checkpoint (published, maybe confirmed, not checkpointed).
      const pastCheckpoint: number[] = [];
      for (const killAt of [400, 1200, 2000]) {
        await eventually(() => received.length >= killAt, 60_000, `${killAt} messages`);
        await kill(relay);
        // What the dead relay got to RabbitMQ arrives.
        await sleep(300);
        const checkpoint = (await consumerStorageFor(store).readCheckpoint('relay:outbox'))?.position ?? 0n;
        pastCheckpoint.push(new Set(received.filter((m) => positionOf(m) > checkpoint).map((m) => m.id)).size);
        relay = setup.spawn(batchSize, false, maxInFlight);
        await relay.ready;
      }
      await producing;
      const ids = await setup.logIds();
      expect(ids).toHaveLength(total);
      await eventually(() => new Set(received.map((m) => m.id)).size === total, 60_000, 'every event published');
      await sleep(300);

      const unique = new Set(received.map((m) => m.id));
      const duplicates = received.length - unique.size;
      const repeatable = pastCheckpoint.reduce((a, b) => a + b, 0);
      console.log(`relay SIGKILL x3 (pages of ${batchSize}, ${maxInFlight} in flight): ${total} events, ${received.length} messages received, ${unique.size} distinct, ${duplicates} duplicates; received past the checkpoint at each kill: ${pastCheckpoint.join(', ')}`);
      expect([...unique].sort()).toEqual([...ids].sort());
      // The checkpoint trails what was published by at most the window (and the page being read).
      for (const count of pastCheckpoint) expect(count).toBeLessThanOrEqual(maxInFlight + batchSize);
      // A restart repeats only events past the checkpoint: nothing confirmed and checkpointed goes again.
      expect(duplicates).toBeLessThanOrEqual(repeatable);
      expect(received.every((m) => m.id === messageToEvent(m).id)).toBe(true);
      for (const [stream, versions] of firstArrivals(received)) expect(versions, stream).toEqual(versions.map((_, i) => i + 1));
    } finally {
      await setup.close();
    }
  });

  it('two relay processes with one name: the standby publishes nothing until the active one is SIGKILLed, then takes over; nothing lost', { timeout: 60_000 }, async () => {
    const setup = await setUp();
    const { store, received } = setup;
    try {
      const active = setup.spawn(20, true);
      await active.ready;
      expect(active.output()).toContain('ready running');
      const standby = setup.spawn(20, true);
      await standby.ready;
      expect(standby.output()).toContain('ready standby');
      for (let i = 0; i < 50; i++) await store.append(`order-${i % 5}`, [ev('Happened', { i })]);
      await eventually(() => new Set(received.map((m) => m.id)).size === 50, 20_000, 'the first 50 published');
      await eventually(() => active.output().includes('published 50'), 10_000, 'the active process to count 50');
      expect(standby.output()).not.toContain('published');
      expect(standby.output()).not.toContain('state running');

      await kill(active);
      for (let i = 50; i < 100; i++) await store.append(`order-${i % 5}`, [ev('Happened', { i })]);
      await eventually(() => new Set(received.map((m) => m.id)).size === 100, 20_000, 'the standby took over');
      expect(standby.output()).toContain('state running');
      // Its count is printed every 20 ms, after the confirms, which may come after the consumer has the messages.
      await eventually(() => /published \d+/.test(standby.output()), 10_000, 'the standby to count what it published');
      expect([...new Set(received.map((m) => m.id))].sort()).toEqual((await setup.logIds()).sort());
    } finally {
      await setup.close();
    }
  });
});
