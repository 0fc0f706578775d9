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
import { EventConsumer, type EventConsumerHandler, type EventConsumerOptions } from '../../src/transport/consumer/event-consumer.js';
import type { EventConsumerContext } from '../../src/transport/consumer/event-consumer-context.js';
import { eventToMessage } from '../../src/transport/message-envelope.js';
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
      const { effect, effects, consumer, publish } = await setUp();
      const runs: string[] = [];
      const billing = await consumer(async (event, context) => {
        runs.push(event.id);
        await effect(event, context);
      });
      const first = recorded('cart-1', 1);
      const second = recorded('cart-1', 2);
      // A relay that re-publishes after a crash sends the same message (same id) again.
      await publish(eventToMessage(first), eventToMessage(first), eventToMessage(second));
      await waitFor(() => expect(billing.status().handled + billing.status().duplicates).toBe(3));
      expect(billing.status()).toMatchObject({ handled: 2, duplicates: 1, retried: 0, deadLettered: 0 });
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

    it('dead-letters an invalid message, an unknown newer version and a message that is no factum event at once (one attempt), and goes on with the key\'s next message', async () => {
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
      await publish(eventToMessage(invalid), eventToMessage(newer), foreign, eventToMessage(good));
      await waitFor(() => expect(billing.status().handled).toBe(1));
      expect(handled).toEqual([good.id]);
      expect(await effects()).toEqual([good.id]);
      const letters = await billing.deadLetters();
      const byId = new Map(letters.map((l) => [l.message.id, l]));
      expect(byId.get(invalid.id)).toMatchObject({ errorCode: 'EVENT_SCHEMA_VIOLATION', attempts: 1 });
      expect(byId.get(newer.id)).toMatchObject({ errorCode: 'UPCAST_FAILED', attempts: 1 });
      expect(byId.get(newer.id)!.error).toContain('knows versions 1 to 2');
      expect(byId.get(foreign.id)).toMatchObject({ errorCode: 'INVALID_EVENT', attempts: 1 });
      expect(byId.get(foreign.id)!.error).toContain('not published by factum');
      expect(billing.status()).toMatchObject({ retried: 0, deadLettered: 3 });
    });

    it('stop lets the handler in flight commit and ack, and takes nothing new', async () => {
      const { effect, effects, consumer, publish } = await setUp();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const first = recorded('cart-1', 1);
      const billing = await consumer(async (event, context) => {
        await effect(event, context);
        if (event.id === first.id) {
          started();
          await gate;
        }
      });
      await publish(eventToMessage(first), eventToMessage(recorded('cart-1', 2)));
      await running;
      let stopped = false;
      const stopping = billing.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stopped).toBe(false);
      expect(billing.status()).toMatchObject({ state: 'stopping', inFlight: 1 });
      release();
      await stopping;
      expect(billing.status()).toMatchObject({ state: 'stopped', handled: 1, inFlight: 0 });
      expect(await effects()).toEqual([first.id]);
    });
  });
}
