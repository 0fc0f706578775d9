/**
 * The broker consumer runner's cases, run on each pairing of broker and store (memory + memory,
 * memory + PGlite, RabbitMQ + PostgreSQL). The events arrive as a relay would publish them
 * (`eventToMessage`); the handler's effect is an append (every store) and a row written through
 * `context.sql` (SQL stores), and both are counted.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { partitionOf } from '../../src/consumers/partition-of.js';
import type { RecordedEvent } from '../../src/core/message.js';
import { EventRegistry } from '../../src/schema/event-registry.js';
import { defineEvent } from '../../src/schema/event-type.js';
import type { Broker } from '../../src/transport/broker.js';
import type { BrokerMessage } from '../../src/transport/broker-message.js';
import { EventConsumer, type EventConsumerOptions } from '../../src/transport/consumer/event-consumer.js';
import type { EventConsumerHandler } from '../../src/transport/consumer/event-consumer-context.js';
import type { EventConsumerContext } from '../../src/transport/consumer/event-consumer-context.js';
import { eventToMessage } from '../../src/transport/message-envelope.js';
import { runnerOverview } from '../../src/consumers/runner-overview.js';
import { ConsistencyMonitor } from '../../src/observability/consistency-monitor.js';
import { openedStores } from '../opened-stores.js';
import type { StoreFactory } from '../stores.js';

export interface EventConsumerTarget {
  /** Names the pairing in titles, e.g. "RabbitMQ + postgres". */
  name: string;
  /** Set when a service is unreachable: every case is then reported as skipped with it. */
  skip?: string;
  /** A broker with 4 partitions and a delivery limit of 10 (above every retry policy here). */
  openBroker(): Promise<Broker>;
  /** Removes a topic's exchanges and queues from the server. */
  cleanup?(broker: Broker, topic: string, groups: string[]): Promise<void>;
  store: StoreFactory;
}

export const SUITE_BROKER_SETTINGS = { partitions: 4, deliveryLimit: 10 } as const;

/** Fast retries, no jitter: the cases count attempts, not time. */
const QUICK_RETRY = { immediateRetries: 1, backoffRetries: 1, initialDelayMs: 20, jitter: 0 } as const;

const ItemAddedV1 = defineEvent('ItemAdded', z.object({ sku: z.string() }));
const ItemAdded = ItemAddedV1.withVersion(2, z.object({ sku: z.string(), quantity: z.number().int() }), (v1) => ({ ...v1, quantity: 1 }));

let position = 0n;
/** An event as another service's store recorded it. */
export function recorded(streamId: string, streamVersion: number, data: unknown = { streamVersion }, extra: Partial<RecordedEvent> = {}): RecordedEvent {
  return { id: randomUUID(), type: 'ItemAdded', data, metadata: {}, schemaVersion: 2, streamId, streamVersion, globalPosition: ++position, recordedAt: new Date(), ...extra };
}

/** Two keys in different partitions of a broker with `partitions` lanes. */
function keysInDifferentPartitions(partitions: number): [string, string] {
  const a = 'cart-a';
  for (let i = 0; ; i++) if (partitionOf(`cart-b${i}`, partitions) !== partitionOf(a, partitions)) return [a, `cart-b${i}`];
}

const waitFor = <T>(check: () => T | Promise<T>): Promise<T> => vi.waitFor(check, { timeout: 30_000, interval: 10 });

export function runEventConsumerSuite(target: EventConsumerTarget): void {
  const title = `EventConsumer: ${target.name}`;
  if (target.skip) {
    describe.skip(`${title} (skipped: ${target.skip})`, () => it('every case', () => {}));
    return;
  }
  describe(title, () => {
    const openStore = openedStores(target.store);
    const running: EventConsumer[] = [];
    const brokers: Array<{ broker: Broker; topics: Array<{ topic: string; groups: string[] }> }> = [];
    afterEach(async () => {
      for (const consumer of running.splice(0)) await consumer.stop();
      for (const { broker, topics } of brokers.splice(0)) {
        for (const { topic, groups } of topics) await target.cleanup?.(broker, topic, groups);
        await broker.close();
      }
    });

    /** A broker, a store with an effects table (SQL stores), a topic, and what the handler did. */
    async function setUp() {
      const broker = await target.openBroker();
      const topics: Array<{ topic: string; groups: string[] }> = [];
      brokers.push({ broker, topics });
      const store = await openStore();
      const suffix = randomUUID().replace(/-/g, '').slice(0, 12);
      const table = `effects_${suffix}`;
      const sql = target.store.capabilities.sql;
      if (sql) await store.transaction((tx) => tx.sql.query(`CREATE TABLE ${table} (event_id text NOT NULL, consumer text NOT NULL)`));
      const topic = `factum-test-${suffix}`;
      const handledStream = `handled-${suffix}`;

      /** The handler's effect: one append and (SQL stores) one row, in the consumer's transaction. */
      const effect = async (event: RecordedEvent, context: EventConsumerContext): Promise<void> => {
        if (context.sql) await context.sql.query(`INSERT INTO ${table} (event_id, consumer) VALUES ($1, $2)`, [event.id, context.subscription]);
        await context.append(handledStream, [{ type: 'Handled', data: { eventId: event.id } }]);
      };
      /** Event ids with an effect, once per effect (appends; on SQL stores the rows must say the same). */
      const effects = async (): Promise<string[]> => {
        const appended = (await store.loadStream(handledStream)).events.map((e) => (e.data as { eventId: string }).eventId);
        if (sql) {
          const { rows } = await store.transaction((tx) => tx.sql.query<{ event_id: string }>(`SELECT event_id FROM ${table}`));
          expect(rows.map((r) => r.event_id).sort()).toEqual([...appended].sort());
        }
        return appended;
      };
      const consumer = async (handler: EventConsumerHandler, options: Partial<EventConsumerOptions> = {}): Promise<EventConsumer> => {
        const name = options.name ?? 'billing';
        topics.push({ topic, groups: [options.group ?? name] });
        const started = new EventConsumer({ name, broker, topic, store, retry: QUICK_RETRY, handler, ...options });
        running.push(started);
        return started.start();
      };
      const publish = async (...messages: BrokerMessage[]): Promise<void> => {
        const results = await broker.publish(topic, messages);
        expect(results.map((r) => r.status)).toEqual(messages.map(() => 'confirmed'));
      };
      return { broker, store, topic, effect, effects, consumer, publish };
    }

    it('has the effect of a message delivered twice once: the inbox acks the duplicate without running the handler', async () => {
      const { broker, effect, effects, consumer, publish } = await setUp();
      const runs: string[] = [];
      const billing = await consumer(async (event, context) => {
        runs.push(event.id);
        await effect(event, context);
      });
      const first = recorded('cart-1', 1);
      const second = recorded('cart-1', 2);
      // A relay that re-publishes after a crash sends the same message (same id) again. A broker
      // that dedupes by message id (JetStream's Nats-Msg-Id) stores it once: the inbox sees no copy.
      const copies = broker.capabilities.dedupeByMessageId ? 0 : 1;
      await publish(eventToMessage(first), eventToMessage(first), eventToMessage(second));
      await waitFor(() => expect(billing.status().handled + billing.status().duplicates).toBe(2 + copies));
      expect(billing.status()).toMatchObject({ handled: 2, duplicates: copies, retried: 0, deadLettered: 0 });
      expect(runs).toEqual([first.id, second.id]);
      expect(await effects()).toEqual([first.id, second.id]);
    });

    it('retries a failing handler (its writes of the failed attempts rolled back) until it succeeds, with the effect once and no dead letter', async () => {
      const { effect, effects, consumer, publish } = await setUp();
      const attempts: number[] = [];
      const billing = await consumer(async (event, context) => {
        attempts.push(context.attempt);
        await effect(event, context);
        if (context.attempt < 3) throw new Error(`flaky ${context.attempt}`);
      });
      const event = recorded('cart-1', 1);
      await publish(eventToMessage(event));
      await waitFor(() => expect(billing.status().handled).toBe(1));
      expect(attempts).toEqual([1, 2, 3]);
      expect(await effects()).toEqual([event.id]);
      expect(billing.status()).toMatchObject({ retried: 2, deadLettered: 0, lastFailure: { messageId: event.id, attempt: 2, error: 'flaky 2', outcome: 'retry' } });
      expect(await billing.deadLetters()).toEqual([]);
    });

    it('dead-letters a message after its last retry with the error, code and attempts; retryDeadLetter handles it, skipDeadLetter drops the other', async () => {
      const { effect, effects, consumer, publish } = await setUp();
      let failing = true;
      const billing = await consumer(async (event, context) => {
        await effect(event, context);
        if (failing) throw Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' });
      });
      const [a, b] = [recorded('cart-1', 1), recorded('cart-2', 1)];
      await publish(eventToMessage(a), eventToMessage(b));
      await waitFor(async () => expect(await billing.deadLetters()).toHaveLength(2));
      const letters = await billing.deadLetters();
      expect(letters.map((l) => l.message.id).sort()).toEqual([a.id, b.id].sort());
      // QUICK_RETRY: one immediate retry and one backoff retry, so three attempts.
      for (const letter of letters) expect(letter).toMatchObject({ error: 'card declined', errorCode: 'CARD_DECLINED', attempts: 3 });
      expect(billing.status()).toMatchObject({ handled: 0, retried: 4, deadLettered: 2 });
      expect(await effects()).toEqual([]);

      failing = false;
      await billing.retryDeadLetter(a.id);
      await waitFor(() => expect(billing.status().handled).toBe(1));
      await billing.skipDeadLetter(b.id);
      expect(await billing.deadLetters()).toEqual([]);
      expect(await effects()).toEqual([a.id]);
      await expect(billing.skipDeadLetter(b.id)).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
    });

    it('keeps per-key order through retries: key A fails (at least twice) until key B has flowed, and A\'s later messages wait for it', async () => {
      const { broker, effect, effects, consumer, publish } = await setUp();
      const [keyA, keyB] = keysInDifferentPartitions(broker.capabilities.partitions);
      const calls: string[] = [];
      let bDone = false;
      const a1 = recorded(keyA, 1);
      // A fails without waiting inside its handler: on PGlite (one session) a handler that waited
      // for another lane would hold the session that lane needs.
      const patient = { immediateRetries: 0, backoffRetries: 8, initialDelayMs: 30, factor: 1.5, maxDelayMs: 300, jitter: 0 };
      const billing = await consumer(
        async (event, context) => {
          calls.push(`${event.streamId}#${event.streamVersion}@${context.attempt}`);
          if (event.id === a1.id && (context.attempt < 3 || !bDone)) throw new Error('not yet');
          await effect(event, context);
          if (event.streamId === keyB && event.streamVersion === 2) bDone = true;
        },
        { retry: patient },
      );
      const [a2, a3, b1, b2] = [recorded(keyA, 2), recorded(keyA, 3), recorded(keyB, 1), recorded(keyB, 2)];
      await publish(...[a1, a2, a3, b1, b2].map(eventToMessage));
      await waitFor(() => expect(billing.status().handled).toBe(5));
      const ofKey = (key: string) => calls.filter((c) => c.startsWith(`${key}#`));
      const a = ofKey(keyA);
      const retries = a.length - 3;
      expect(retries).toBeGreaterThanOrEqual(2);
      expect(a).toEqual([...Array.from({ length: retries + 1 }, (_, i) => `${keyA}#1@${i + 1}`), `${keyA}#2@1`, `${keyA}#3@1`]);
      expect(ofKey(keyB)).toEqual([`${keyB}#1@1`, `${keyB}#2@1`]);
      // B was handled while A was failing, before A's message succeeded.
      expect(calls.indexOf(`${keyB}#2@1`)).toBeLessThan(calls.indexOf(`${keyA}#1@${retries + 1}`));
      expect(billing.status().deadLettered).toBe(0);
      const done = await effects();
      expect(done.filter((id) => [a1.id, a2.id, a3.id].includes(id))).toEqual([a1.id, a2.id, a3.id]);
    });

    const noSql = target.store.capabilities.sql ? '' : ` (skipped: the ${target.store.name} store has no SQL, so no commit can fail)`;
    it.skipIf(noSql)(`a commit that fails reaches onError and the dead letter as STORAGE_ERROR with the driver's error as cause, and nothing of it is written${noSql}`, async () => {
      const { store, effect, effects, consumer, publish } = await setUp();
      const table = `deferred_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      // A deferred unique constraint is checked at COMMIT: the handler's statements pass, the commit fails.
      await store.transaction((tx) => tx.sql.query(`CREATE TABLE ${table} (id integer, CONSTRAINT ${table}_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`));
      const errors: unknown[] = [];
      const billing = await consumer(
        async (event, context) => {
          await effect(event, context);
          await context.sql!.query(`INSERT INTO ${table} VALUES (1), (1)`);
        },
        { onError: (error) => errors.push(error) },
      );
      const event = recorded('cart-1', 1);
      await publish(eventToMessage(event));
      await waitFor(async () => expect(await billing.deadLetters()).toHaveLength(1));
      expect((await billing.deadLetters())[0]).toMatchObject({ errorCode: 'STORAGE_ERROR', attempts: 3 });
      expect(errors).toHaveLength(3);
      for (const error of errors) expect(error).toMatchObject({ code: 'STORAGE_ERROR', cause: { code: '23505' } });
      expect(await effects()).toEqual([]);
    });

    it('upcasts with the registry: a v1 message on the wire reaches the handler as v2', async () => {
      const { consumer, publish } = await setUp();
      const seen: RecordedEvent[] = [];
      const billing = await consumer(async (event) => void seen.push(event), { registry: new EventRegistry([ItemAdded]) });
      const v1 = recorded('cart-1', 1, { sku: 'tea' }, { schemaVersion: 1 });
      await publish(eventToMessage(v1));
      await waitFor(() => expect(billing.status().handled).toBe(1));
      expect(seen).toEqual([{ ...v1, schemaVersion: 2, data: { sku: 'tea', quantity: 1 } }]);
    });

    it('dead-letters an invalid message and an unknown newer version at once (one attempt) in the store, blocking their key; a message that is no factum event goes to the broker\'s dead letters without blocking; skips drain the key', async () => {
      const { effect, effects, consumer, publish } = await setUp();
      const handled: string[] = [];
      const billing = await consumer(
        async (event, context) => {
          handled.push(event.id);
          await effect(event, context);
        },
        { registry: new EventRegistry([ItemAdded]) },
      );
      const invalid = recorded('cart-1', 1, { sku: 'tea', quantity: 'lots' });
      const newer = recorded('cart-1', 2, { sku: 'tea', quantity: 1, colour: 'red' }, { schemaVersion: 3 });
      const foreign: BrokerMessage = { id: randomUUID(), key: 'cart-1', headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello') };
      const good = recorded('cart-1', 3, { sku: 'tea', quantity: 2 });
      const other = recorded('cart-9', 1, { sku: 'tea', quantity: 2 });
      await publish(eventToMessage(invalid), eventToMessage(newer), foreign, eventToMessage(good), eventToMessage(other));
      await waitFor(() => expect(billing.status()).toMatchObject({ handled: 1, parked: 2, deadLettered: 2 }));
      expect(handled).toEqual([other.id]);
      expect(billing.status()).toMatchObject({ retried: 0, blockedKeys: ['cart-1'] });
      const letters = await billing.deadLetters();
      expect(letters.map((l) => [l.message.id, l.status])).toEqual([
        [invalid.id, 'dead'],
        [newer.id, 'parked'],
        [good.id, 'parked'],
        [foreign.id, 'dead'],
      ]);
      expect(letters[0]).toMatchObject({ errorCode: 'EVENT_SCHEMA_VIOLATION', attempts: 1, key: 'cart-1' });
      expect(letters[3]).toMatchObject({ errorCode: 'INVALID_EVENT', attempts: 1 });
      expect(letters[3]!.error).toContain('not published by factum');

      // Skipping the invalid one drains the key: the newer version fails at once and is its dead letter now.
      await billing.skipDeadLetter(invalid.id);
      const after = await billing.deadLetters();
      expect(after.map((l) => [l.message.id, l.status])).toEqual([
        [newer.id, 'dead'],
        [good.id, 'parked'],
        [foreign.id, 'dead'],
      ]);
      expect(after[0]).toMatchObject({ errorCode: 'UPCAST_FAILED', attempts: 1 });
      expect(after[0]!.error).toContain('knows versions 1 to 2');
      await billing.skipDeadLetter(newer.id);
      await billing.skipDeadLetter(foreign.id);
      expect(handled).toEqual([other.id, good.id]);
      expect(await effects()).toEqual([other.id, good.id]);
      expect(await billing.deadLetters()).toEqual([]);
      expect(billing.status().blockedKeys).toEqual([]);
    });

    /** Key A's third message fails for good while key B flows; resolves once A's 4th and 5th are parked. */
    async function blockThirdOfKey() {
      const setup = await setUp();
      const [keyA, keyB] = keysInDifferentPartitions(setup.broker.capabilities.partitions);
      const a = [1, 2, 3, 4, 5].map((v) => recorded(keyA, v));
      const b = [1, 2].map((v) => recorded(keyB, v));
      const state = { failing: true, calls: [] as string[] };
      const handler: EventConsumerHandler = async (event, context) => {
        state.calls.push(`${event.streamId}#${event.streamVersion}`);
        if (state.failing && event.id === a[2]!.id) throw new Error('out of stock');
        await setup.effect(event, context);
      };
      const billing = await setup.consumer(handler);
      await setup.publish(...[a[0]!, a[1]!, b[0]!, a[2]!, a[3]!, b[1]!, a[4]!].map(eventToMessage));
      await waitFor(() => expect(billing.status()).toMatchObject({ handled: 4, parked: 2, deadLettered: 1 }));
      return { ...setup, keyA, keyB, a, b, state, handler, billing };
    }

    it('a key whose 3rd message fails for good parks its 4th and 5th in the store (acked), other keys flow, and retryDeadLetter drains 3, 4, 5 in order', async () => {
      const { effects, keyA, a, b, state, billing, publish } = await blockThirdOfKey();
      expect(billing.status().blockedKeys).toEqual([keyA]);
      expect((await billing.deadLetters()).map((l) => [l.message.id, l.status, l.key])).toEqual([
        [a[2]!.id, 'dead', keyA],
        [a[3]!.id, 'parked', keyA],
        [a[4]!.id, 'parked', keyA],
      ]);
      expect((await billing.deadLetters())[0]).toMatchObject({ error: 'out of stock', attempts: 3 });
      // The 4th and 5th never reached the handler: parked, not attempted.
      expect(state.calls.filter((c) => c.startsWith(`${keyA}#`))).toEqual([`${keyA}#1`, `${keyA}#2`, `${keyA}#3`, `${keyA}#3`, `${keyA}#3`]);
      expect(await effects()).toEqual(expect.arrayContaining([a[0]!.id, a[1]!.id, b[0]!.id, b[1]!.id]));
      expect((await effects()).length).toBe(4);

      state.failing = false;
      state.calls.length = 0;
      await billing.retryDeadLetter(a[2]!.id);
      expect(state.calls).toEqual([`${keyA}#3`, `${keyA}#4`, `${keyA}#5`]);
      expect(await billing.deadLetters()).toEqual([]);
      expect(billing.status()).toMatchObject({ blockedKeys: [], handled: 7 });
      // The key flows again, after the drained ones.
      const a6 = recorded(keyA, 6);
      await publish(eventToMessage(a6));
      await waitFor(() => expect(billing.status().handled).toBe(8));
      const done = await effects();
      expect(done.filter((id) => a.some((e) => e.id === id) || id === a6.id)).toEqual([...a.map((e) => e.id), a6.id]);
      expect(done.filter((id) => b.some((e) => e.id === id))).toEqual(b.map((e) => e.id));
    });

    it('a restarted consumer keeps the key blocked (a new message of it is parked too), and skipDeadLetter drops the 3rd and drains 4, 5, 6 in order', async () => {
      const { broker, store, topic, effects, keyA, a, state, handler, billing, publish } = await blockThirdOfKey();
      await billing.stop();
      const restarted = new EventConsumer({ name: 'billing', broker, topic, store, retry: QUICK_RETRY, handler });
      running.push(restarted);
      await restarted.start();
      expect(restarted.status().blockedKeys).toEqual([keyA]);
      const a6 = recorded(keyA, 6);
      await publish(eventToMessage(a6));
      await waitFor(() => expect(restarted.status().parked).toBe(1));
      expect((await restarted.deadLetters()).map((l) => l.message.id)).toEqual([a[2]!.id, a[3]!.id, a[4]!.id, a6.id]);

      state.calls.length = 0;
      await restarted.skipDeadLetter(a[2]!.id);
      expect(state.calls).toEqual([`${keyA}#4`, `${keyA}#5`, `${keyA}#6`]);
      expect(await restarted.deadLetters()).toEqual([]);
      expect(restarted.status().blockedKeys).toEqual([]);
      const done = await effects();
      expect(done.filter((id) => a.some((e) => e.id === id) || id === a6.id)).toEqual([a[0]!.id, a[1]!.id, a[3]!.id, a[4]!.id, a6.id]);
    });

    it('hands a partition\'s held messages to one transaction: a failing middle one is retried after those before it committed (once), and none after it overtakes it', async () => {
      const { effect, effects, consumer, publish } = await setUp();
      const m = [1, 2, 3, 4, 5, 6].map((v) => recorded('cart-1', v));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const calls: string[] = [];
      const transactions = new Map<string, string>();
      const billing = await consumer(
        async (event, context) => {
          const call = `${event.streamVersion}@${context.attempt}`;
          calls.push(call);
          // The first message holds its lane while the others arrive, so that they come as one batch.
          if (event.id === m[0]!.id) await gate;
          if (context.sql) transactions.set(call, (await context.sql.query<{ tx: string }>('SELECT txid_current()::text AS tx')).rows[0]!.tx);
          await effect(event, context);
          if (event.id === m[3]!.id && context.attempt === 1) throw new Error('flaky');
        },
        { prefetch: 8 },
      );
      await publish(eventToMessage(m[0]!));
      await waitFor(() => expect(calls).toEqual(['1@1']));
      await publish(...m.slice(1).map(eventToMessage));
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      await waitFor(() => expect(billing.status().handled).toBe(6));
      expect(calls).toEqual(['1@1', '2@1', '3@1', '4@1', '4@2', '5@1', '6@1']);
      expect(await effects()).toEqual(m.map((e) => e.id));
      expect(billing.status()).toMatchObject({ retried: 1, deadLettered: 0, duplicates: 0 });
      if (target.store.capabilities.sql) {
        // 2, 3 and the failed attempt of 4 shared one transaction, which committed 2 and 3 without 4.
        expect(transactions.get('3@1')).toBe(transactions.get('2@1'));
        expect(transactions.get('4@1')).toBe(transactions.get('2@1'));
        expect(transactions.get('4@2')).not.toBe(transactions.get('2@1'));
      }
    });

    it('stop lets the handler in flight commit and ack, and takes nothing new', async () => {
      const { effect, effects, consumer, publish } = await setUp();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const first = recorded('cart-1', 1);
      const second = recorded('cart-1', 2);
      const billing = await consumer(async (event, context) => {
        await effect(event, context);
        if (event.id === first.id) {
          started();
          await gate;
        }
      });
      await publish(eventToMessage(first), eventToMessage(second));
      await running;
      let stopped = false;
      const stopping = billing.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The first is in flight; a broker that handed both over in one batch (NATS: both were stored when it pulled) has the second in flight too.
      const inFlight = billing.status().inFlight;
      expect(billing.status().state).toBe('stopping');
      expect([1, 2]).toContain(inFlight);
      expect(stopped).toBe(false);
      release();
      await stopping;
      // What was in flight committed; nothing was taken after the stop.
      expect(billing.status()).toMatchObject({ state: 'stopped', handled: inFlight, inFlight: 0 });
      expect(await effects()).toEqual([first.id, second.id].slice(0, inFlight));
    });
    it('knows its lag: held back it counts every message not settled with the age of the oldest, stalls past its bound and reports it to the store; freed, none, and its last report says stopped', async () => {
      const { broker, store, effect, consumer, publish } = await setUp();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const billing = await consumer(
        async (event, context) => {
          await gate;
          await effect(event, context);
        },
        { reportIntervalMs: 50 },
      );
      const breaches: string[] = [];
      const recoveries: string[] = [];
      const monitor = new ConsistencyMonitor(store, { intervalMs: 20, windowMs: 300, onBreach: (r) => breaches.push(r.name), onRecovery: (r) => recoveries.push(r.name) });
      monitor.watch(billing, { events: 5 });
      // PGlite is one session, which the held handler's transaction holds: the monitor (the log's head) and the reports wait for it.
      const concurrent = target.store.capabilities.concurrentSessions;
      try {
        // Recorded 3 s ago in the other service: the lag in seconds is measured from the write.
        const recordedAt = new Date(Date.now() - 3000);
        // One key, so one partition's transaction is held: the test store's pool of 4 keeps sessions for the monitor and the reports.
        const events = Array.from({ length: 12 }, (_, i) => recorded('cart-1', i + 1, undefined, { recordedAt }));
        await publish(...events.map(eventToMessage));
        // A handler holds one; a broker that counts lag counts all 12, held or waiting; one without lag(), what the handlers hold.
        await waitFor(() => expect(billing.status().inFlight).toBeGreaterThan(0));
        await waitFor(async () => expect((await billing.lag()).events).toBe(broker.lag ? 12 : billing.status().inFlight));
        const held = await billing.lag();
        expect(held.seconds).toBeGreaterThanOrEqual(3);
        expect(held.seconds).toBeLessThan(60);
        expect(billing.status()).toMatchObject({ lagEvents: held.events, position: 0n });
        if (concurrent) {
          monitor.start();
          // Lag above the bound and no progress over the window.
          await waitFor(() => expect(monitor.reports()[0]).toMatchObject({ name: 'billing', state: 'stalled', breached: true, lagEvents: held.events }));
          expect(breaches).toEqual(['billing']);
          if (target.store.capabilities.sql) {
            await waitFor(async () => expect((await runnerOverview(store)).find((r) => r.name === 'billing')).toMatchObject({ kind: 'consumer', lagEvents: held.events, state: 'running', details: { topic: billing.topic, group: 'billing' } }));
          }
        }
      } finally {
        // Also after a failed assertion: afterEach stops the consumer, which waits for its handlers.
        release();
      }
      try {
        await waitFor(() => expect(billing.status().handled).toBe(12));
        await waitFor(async () => expect((await billing.lag()).events).toBe(0));
        if (!concurrent) monitor.start();
        await waitFor(() => expect(monitor.reports()[0]).toMatchObject({ name: 'billing', state: 'ok', lagEvents: 0, breached: false }));
        if (concurrent) expect(recoveries).toEqual(['billing']);
      } finally {
        await monitor.stop();
      }
      await billing.stop();
      if (target.store.capabilities.sql) {
        const [report] = (await runnerOverview(store)).filter((r) => r.name === 'billing');
        expect(report).toMatchObject({ kind: 'consumer', state: 'stopped', lagEvents: 0, position: 12n });
      }
    });
  });
}
