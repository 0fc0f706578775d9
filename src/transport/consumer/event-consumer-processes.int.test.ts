/**
 * EventConsumer processes on RabbitMQ + PostgreSQL, killed with SIGKILL: a commit whose ack never
 * left is absorbed by the inbox on redelivery, and competing processes of one group keep per-key
 * order while one of them dies.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openRabbitMqBroker, type RabbitMqBroker } from '../rabbitmq/rabbitmq-broker.js';
import { eventToMessage } from '../message-envelope.js';
import { EventConsumer } from './event-consumer.js';
import { recorded, SUITE_BROKER_SETTINGS } from '../../../test/transport/event-consumer-suite.js';
import { kill, spawnWorker, type Worker } from '../../../test/runner-suites/processes.js';
import { POSTGRES_URL, serviceUnavailable } from '../../../test/services.js';
import { createdSchemas, dropSchemas, openTestPostgres, storeFactories, uniqueSchema } from '../../../test/stores.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const skip = (await serviceUnavailable('RabbitMQ', 5672)) ?? (await storeFactories()).find((f) => f.name === 'postgres')!.skip;

interface Row {
  event_id: string;
  stream_id: string;
  stream_version: number;
  worker: string;
}

describe.skipIf(skip)(`EventConsumer processes on RabbitMQ + PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const workers: Worker[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) await kill(worker);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => dropSchemas(createdSchemas));

  /** A store with the effects table, a broker, a topic, and a way to start worker processes. */
  async function setUp() {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openTestPostgres({ schema });
    cleanups.push(() => store.close());
    const broker = await openRabbitMqBroker({ url: AMQP_URL, ...SUITE_BROKER_SETTINGS });
    const topic = `factum-test-${randomUUID().slice(0, 8)}`;
    cleanups.push(async () => {
      await broker.deleteTopology(topic, ['inventory']);
      await broker.close();
    });
    const table = `${schema}.effects`;
    await store.client.query(`CREATE TABLE ${table} (seq bigserial PRIMARY KEY, event_id text NOT NULL, stream_id text NOT NULL, stream_version integer NOT NULL, worker text NOT NULL)`);
    const rows = async (): Promise<Row[]> => (await store.client.query<Row>(`SELECT event_id, stream_id, stream_version, worker FROM ${table} ORDER BY seq`)).rows;
    const start = async (name: string, mode: 'normal' | 'kill-after-commit' | 'poison' | 'kill-mid-batch', delayMs = 0): Promise<Worker> => {
      const worker = spawnWorker('../../transport/workers/event-consumer-worker.ts', [AMQP_URL, POSTGRES_URL, schema, topic, table, name, mode, String(delayMs)]);
      workers.push(worker);
      await worker.ready;
      return worker;
    };
    return { store, broker, topic, table, rows, schema, start };
  }

  /** `keys` streams of `perKey` events each, published in rounds (version 1 of every key, then 2, ...). */
  async function publishStreams(broker: RabbitMqBroker, topic: string, keys: number, perKey: number): Promise<string[]> {
    const ids: string[] = [];
    for (let version = 1; version <= perKey; version++) {
      const events = Array.from({ length: keys }, (_, k) => recorded(`stock-${k}`, version));
      const results = await broker.publish(topic, events.map(eventToMessage));
      expect(results.every((r) => r.status === 'confirmed')).toBe(true);
      ids.push(...events.map((e) => e.id));
    }
    return ids;
  }

  /** Every message's effect exactly once, and each stream's events in version order. */
  function expectOnceInOrder(rows: Row[], ids: string[], keys: number, perKey: number): void {
    expect(rows).toHaveLength(ids.length);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(ids));
    for (let k = 0; k < keys; k++) {
      expect(rows.filter((r) => r.stream_id === `stock-${k}`).map((r) => r.stream_version)).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
    }
  }

  it('a consumer SIGKILLed after its commit but before its ack: the message is redelivered and the inbox absorbs it (each effect once, counted)', async () => {
    const { store, broker, topic, table, rows, start } = await setUp();
    const crashing = await start('crashing', 'kill-after-commit');
    const exited = new Promise((resolve) => crashing.child.once('exit', (_code, signal) => resolve(signal)));
    const ids = await publishStreams(broker, topic, 5, 4);
    expect(await exited).toBe('SIGKILL');
    const committedBeforeCrash = await rows();
    expect(committedBeforeCrash.length).toBeGreaterThanOrEqual(1);
    expect(committedBeforeCrash.every((r) => r.worker === 'crashing')).toBe(true);

    // The next consumer of the group, in this process, gets what the dead one never acked.
    const next = await new EventConsumer({
      name: 'inventory',
      broker,
      topic,
      store,
      handler: async (event, context) => {
        await context.sql!.query(`INSERT INTO ${table} (event_id, stream_id, stream_version, worker) VALUES ($1, $2, $3, 'next')`, [event.id, event.streamId, event.streamVersion]);
      },
    }).start();
    cleanups.push(() => next.stop());
    await vi.waitFor(async () => expect((await rows()).length).toBeGreaterThanOrEqual(ids.length), { timeout: 60_000, interval: 50 });
    // The committed-but-unacked message comes again and is absorbed (it may come after the last row).
    await vi.waitFor(() => expect(next.status().duplicates).toBeGreaterThanOrEqual(1), { timeout: 60_000, interval: 50 });
    const all = await rows();
    expectOnceInOrder(all, ids, 5, 4);
    // A COMMIT the server had received when the process died may land after the kill: count the crashed one's rows now.
    const crashed = all.filter((r) => r.worker === 'crashing').length;
    expect(crashed).toBeGreaterThanOrEqual(committedBeforeCrash.length);
    expect(next.status().handled).toBe(ids.length - crashed);
    expect(all.filter((r) => r.worker === 'next')).toHaveLength(ids.length - crashed);
  }, 120_000);

  it('a consumer SIGKILLed in the middle of a batch\'s transaction: none of that batch is written, all of it comes again, and each effect exists once (counted)', async () => {
    const { store, broker, topic, table, rows, start } = await setUp();
    const crashing = await start('crashing', 'kill-mid-batch', 1);
    const exited = new Promise((resolve) => crashing.child.once('exit', (_code, signal) => resolve(signal)));
    const ids = await publishStreams(broker, topic, 5, 8);
    expect(await exited).toBe('SIGKILL');
    // It died at a handler that ran in the same transaction as at least one before it: mid-batch.
    const [, inTx, inKilledTx] = /killing (\d+) (\S+)/.exec(crashing.output())!;
    expect(Number(inTx)).toBeGreaterThanOrEqual(2);
    const killedTx = inKilledTx!.split(',');
    const committedBeforeCrash = await rows();
    expect(committedBeforeCrash.every((r) => r.worker === 'crashing')).toBe(true);
    expect(committedBeforeCrash.length).toBeLessThan(ids.length);

    const next = await new EventConsumer({
      name: 'inventory',
      broker,
      topic,
      store,
      handler: async (event, context) => {
        await context.sql!.query(`INSERT INTO ${table} (event_id, stream_id, stream_version, worker) VALUES ($1, $2, $3, 'next')`, [event.id, event.streamId, event.streamVersion]);
      },
    }).start();
    cleanups.push(() => next.stop());
    await vi.waitFor(async () => expect((await rows()).length).toBe(ids.length), { timeout: 60_000, interval: 50 });
    const all = await rows();
    expectOnceInOrder(all, ids, 5, 8);
    const crashed = all.filter((r) => r.worker === 'crashing').length;
    // Nothing of the killed transaction landed (another lane's COMMIT in flight at the kill may have).
    expect(all.filter((r) => killedTx.includes(r.event_id)).map((r) => r.worker)).toEqual(killedTx.map(() => 'next'));
    expect(crashed).toBeGreaterThanOrEqual(committedBeforeCrash.length);
    await vi.waitFor(() => expect(next.status().handled).toBe(ids.length - crashed), { timeout: 60_000, interval: 50 });
    expect(all.filter((r) => r.worker === 'next')).toHaveLength(ids.length - crashed);
  }, 120_000);

  it('two competing consumer processes on one group keep per-key order, also when the active one is SIGKILLed midway (each effect once, counted)', async () => {
    const { broker, topic, rows, start } = await setUp();
    const first = await start('first', 'normal', 2);
    const second = await start('second', 'normal', 2);
    const keys = 10;
    const perKey = 30;
    const ids = await publishStreams(broker, topic, keys, perKey);
    await vi.waitFor(async () => expect((await rows()).length).toBeGreaterThanOrEqual(ids.length / 4), { timeout: 60_000, interval: 20 });
    // Kill the process that handled the latest message: the active one (single active consumer per partition).
    const latest = (await rows()).at(-1)!.worker as 'first' | 'second';
    await kill(latest === 'first' ? first : second);
    const survivor = latest === 'first' ? 'second' : 'first';
    const before = (await rows()).filter((r) => r.worker === survivor).length;
    await vi.waitFor(async () => expect((await rows()).length).toBeGreaterThanOrEqual(ids.length), { timeout: 90_000, interval: 50 });
    const all = await rows();
    expectOnceInOrder(all, ids, keys, perKey);
    const counts = { first: all.filter((r) => r.worker === 'first').length, second: all.filter((r) => r.worker === 'second').length };
    // The survivor took over the killed one's partitions.
    expect(counts[survivor]).toBeGreaterThan(before);
    expect(counts.first + counts.second).toBe(ids.length);
  }, 180_000);

  it('a dead letter of a consumer process is retried from another process while the key keeps receiving: every message of the key handled once, in order, none before the drained ones', async () => {
    const { store, broker, topic, table, rows, schema, start } = await setUp();
    await start('consuming', 'poison', 1);
    const key = 'stock-poisoned';
    const publish = async (...events: ReturnType<typeof recorded>[]) => {
      const results = await broker.publish(topic, events.map(eventToMessage));
      expect(results.every((r) => r.status === 'confirmed')).toBe(true);
    };
    const first = [1, 2, 3, 4, 5].map((v) => recorded(key, v, v === 3 ? { poison: true } : { v }));
    const others = [1, 2, 3].map((v) => recorded('stock-other', v));
    await publish(...first, ...others);
    const letters = async () =>
      (await store.client.query<{ event_id: string; status: string }>(`SELECT event_id, status FROM ${schema}.dead_letters WHERE subscription = 'consumer:inventory' ORDER BY id`)).rows;
    await vi.waitFor(async () => expect((await letters()).map((l) => l.status)).toEqual(['dead', 'parked', 'parked']), { timeout: 60_000, interval: 50 });
    await vi.waitFor(async () => expect((await rows()).filter((r) => r.stream_id === 'stock-other')).toHaveLength(3), { timeout: 60_000, interval: 50 });

    // This process drains the key (its handler takes the poison) while the consuming process gets more of it.
    const retrier = new EventConsumer({
      name: 'inventory',
      broker,
      topic,
      store,
      handler: async (event, context) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await context.sql!.query(`INSERT INTO ${table} (event_id, stream_id, stream_version, worker) VALUES ($1, $2, $3, 'retrier')`, [event.id, event.streamId, event.streamVersion]);
      },
    });
    const later = Array.from({ length: 20 }, (_, i) => recorded(key, 6 + i));
    const drained = retrier.retryDeadLetter(first[2]!.id);
    for (const event of later) {
      await publish(event);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await drained;
    // The drain ends only once the key has no row left: what comes now flows in the consuming process.
    const after = [26, 27, 28].map((v) => recorded(key, v));
    await publish(...after);
    await vi.waitFor(async () => expect((await rows()).filter((r) => r.stream_id === key)).toHaveLength(28), { timeout: 60_000, interval: 50 });
    const ofKey = (await rows()).filter((r) => r.stream_id === key);
    expect(ofKey.map((r) => r.stream_version)).toEqual(Array.from({ length: 28 }, (_, i) => i + 1));
    expect(new Set(ofKey.map((r) => r.event_id)).size).toBe(28);
    // The poison and the ones parked behind it were handled by the retrier, whatever was parked during the drain too.
    const by = (worker: string) => ofKey.filter((r) => r.worker === worker).map((r) => r.stream_version);
    expect(by('retrier').slice(0, 3)).toEqual([3, 4, 5]);
    expect(by('consuming').slice(0, 2)).toEqual([1, 2]);
    expect(by('consuming').slice(-3)).toEqual([26, 27, 28]);
    expect(by('retrier').length + by('consuming').length).toBe(28);
    expect(await letters()).toEqual([]);
    if (process.env.FACTUM_DEBUG_DRAIN) console.log({ retrier: by('retrier'), consuming: by('consuming') });
  }, 180_000);
});
