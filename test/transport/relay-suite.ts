/**
 * The relay's behaviour on one broker, run on every store (describeOnStores): what commits is
 * published and nothing else, every event once per stream in order, refusals park one stream,
 * retry and skip. Each broker's test file runs it with its own `open`.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { streamCategory, type RecordedEvent } from '../../src/core/message.js';
import type { Broker } from '../../src/transport/broker.js';
import type { BrokerMessage } from '../../src/transport/broker-message.js';
import { messageToEvent } from '../../src/transport/message-envelope.js';
import { Relay, type RelayOptions } from '../../src/transport/relay/relay.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { ev, eventually, sleep } from '../runner-suites/helpers.js';

export interface RelayBrokerTarget {
  name: string;
  /** A broker whose messages are at most `maxMessageBytes` (64 KiB in this suite). */
  open(): Promise<Broker>;
  /** Removes a topic and its groups from the server (through `broker`, still open). */
  cleanup?(broker: Broker, topic: string, groups: string[]): Promise<void>;
  stores?: OnStoresOptions['stores'];
  /** Why the whole suite is skipped (a service that is not reachable). */
  skip?: string;
}

/** What one consumer group of a topic received, in order. */
export interface Received {
  messages: BrokerMessage[];
  events(): RecordedEvent[];
}

export function runRelaySuite(target: RelayBrokerTarget): void {
  // An unreachable service skips every case, each still listed under a title that says why.
  (target.skip ? describe.skip : describe)(`relay on ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`, () => suite(target));
}

function suite(target: RelayBrokerTarget): void {
  describeOnStores(
    'relay',
    (on) => {
      const cleanups: Array<() => Promise<void>> = [];
      afterEach(async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      });

      /** A broker, a unique topic prefix, and a relay routing `<category>` to `<prefix>.<category>`. */
      const setUp = async (options: Partial<RelayOptions> = {}) => {
        const store = await on.open();
        const broker = await target.open();
        cleanups.push(() => broker.close());
        const prefix = `relay-test-${randomUUID().slice(0, 8)}`;
        const topicOf = (category: string) => `${prefix}.${category}`;
        const receive = async (category: string): Promise<Received> => {
          const topic = topicOf(category);
          const group = 'g';
          const messages: BrokerMessage[] = [];
          const consumer = await broker.consume({ topic, group, handler: async (d) => void messages.push(d.message) });
          cleanups.push(async () => {
            await consumer.stop();
            await target.cleanup?.(broker, topic, [group]);
          });
          return { messages, events: () => messages.map(messageToEvent) };
        };
        const relay = new Relay(store, { name: 'outbox', broker, route: (e) => topicOf(streamCategory(e.streamId)), pollIntervalMs: 100, ...options });
        cleanups.push(() => relay.stop());
        return { store, broker, relay, receive, topicOf };
      };

      it('publishes an append made in an open store.transaction only once it commits, and a rolled-back one never', async () => {
        const { store, relay, receive } = await setUp();
        const orders = await receive('order');
        await relay.start();
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let appended!: () => void;
        const inside = new Promise<void>((resolve) => (appended = resolve));
        const committing = store.transaction(async (tx) => {
          await tx.append('order-1', [ev('OrderPlaced', { n: 1 })]);
          appended();
          await gate;
        });
        await inside;
        // Several polls of the relay go by while the transaction is open.
        await sleep(400);
        expect(orders.messages).toHaveLength(0);
        release();
        await committing;
        await relay.waitFor(await store.headPosition());
        await eventually(() => orders.messages.length === 1, 10_000, 'the committed event');

        await expect(
          store.transaction(async (tx) => {
            await tx.append('order-2', [ev('OrderPlaced', { n: 2 })]);
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        const { lastPosition } = await store.append('order-3', [ev('OrderPlaced', { n: 3 })]);
        await relay.waitFor(lastPosition);
        await eventually(() => orders.messages.length === 2, 10_000, 'the event after the rollback');
        expect(orders.events().map((e) => e.streamId)).toEqual(['order-1', 'order-3']);
      });

      it('publishes every event of many streams once, each stream in order, with the event id as message id and the status to show it', async () => {
        const { store, relay, receive } = await setUp({ batchSize: 64 });
        const [orders, payments] = [await receive('order'), await receive('payment')];
        const appended: RecordedEvent[] = [];
        const appendMany = async (from: number, to: number) => {
          for (let i = from; i < to; i++) {
            const streamId = `${i % 2 === 0 ? 'order' : 'payment'}-${i % 20}`;
            await store.append(streamId, [ev('Happened', { i })]);
          }
        };
        await appendMany(0, 200);
        await relay.start();
        await appendMany(200, 400);
        await relay.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
        for await (const e of store.readAll()) appended.push(e);
        await eventually(() => orders.messages.length + payments.messages.length >= 400, 20_000, '400 messages');
        const received = [...orders.events(), ...payments.events()];
        expect(received).toHaveLength(400);
        expect(new Set(received.map((e) => e.id))).toEqual(new Set(appended.map((e) => e.id)));
        expect([...orders.messages, ...payments.messages].every((m) => m.id === m.headers['factum-event-id'])).toBe(true);
        for (const stream of new Set(received.map((e) => e.streamId))) {
          const versions = received.filter((e) => e.streamId === stream).map((e) => e.streamVersion);
          expect(versions).toEqual(versions.map((_, i) => i + 1));
        }
        expect(orders.events().every((e) => e.streamId.startsWith('order-'))).toBe(true);
        const status = relay.status();
        expect(status).toMatchObject({ name: 'outbox', state: 'running', lagEvents: 0n, published: 400 });
        expect(status.lastConfirmAt).toBeInstanceOf(Date);
        expect(status.confirmLatencyMs).toBeGreaterThanOrEqual(0);
        expect(status.waitingForBrokerSince).toBeUndefined();
      });

      it('leaves an event routed to undefined unpublished and goes past it', async () => {
        const { store, relay, receive, topicOf } = await setUp({ route: (e) => (e.type === 'Internal' ? undefined : topicOf(streamCategory(e.streamId))) });
        const orders = await receive('order');
        await relay.start();
        await store.append('order-1', [ev('Internal'), ev('OrderPlaced'), ev('Internal')]);
        await relay.waitFor(await store.headPosition());
        await eventually(() => orders.messages.length === 1, 10_000, 'the published one');
        expect(orders.events().map((e) => e.type)).toEqual(['OrderPlaced']);
        expect(relay.status().lagEvents).toBe(0n);
      });

      it('dead-letters a message that is too large: its stream parks behind it, other streams flow; skip publishes the rest in order', async () => {
        const { store, relay, receive } = await setUp();
        const orders = await receive('order');
        await relay.start();
        await store.append('order-big', [ev('Small', { n: 1 }), ev('Huge', { blob: 'x'.repeat(70 * 1024) }), ev('Small', { n: 3 })]);
        await store.append('order-other', [ev('Small', { n: 1 })]);
        await relay.waitFor(await store.headPosition());
        await store.append('order-big', [ev('Small', { n: 4 })]);
        const { lastPosition } = await store.append('order-other', [ev('Small', { n: 2 })]);
        await relay.waitFor(lastPosition);
        await eventually(() => orders.messages.length === 3, 10_000, 'the other stream and the first small event');
        expect(orders.events().map((e) => `${e.streamId}@${e.streamVersion}`).sort()).toEqual(['order-big@1', 'order-other@1', 'order-other@2']);
        const letters = await relay.deadLetters();
        expect(letters.map((l) => `${l.status} ${l.streamId}@${l.event.streamVersion}`)).toEqual(['dead order-big@2', 'parked order-big@3', 'parked order-big@4']);
        expect(letters[0]).toMatchObject({ errorCode: 'MESSAGE_REFUSED' });
        expect(letters[0]!.error).toContain('too_large');
        expect(relay.status().blockedStreams).toEqual(['order-big']);

        // Retrying cannot help a message that is too large: it stays the dead letter, the rest stay parked.
        expect(await relay.retryDeadLetter(letters[0]!.id)).toEqual({ handled: 0, remaining: 3 });
        expect(await relay.skipDeadLetter(letters[0]!.id)).toEqual({ handled: 2, remaining: 0 });
        await eventually(() => orders.messages.length === 5, 10_000, 'the parked events');
        expect(orders.events().slice(3).map((e) => `${e.streamId}@${e.streamVersion}`)).toEqual(['order-big@3', 'order-big@4']);
        expect(await relay.deadLetters()).toEqual([]);
        expect(relay.status().blockedStreams).toEqual([]);
      });

      it('dead-letters an unroutable message (no group on its topic) and publishes it with retryDeadLetter once the topic has one', async () => {
        const { store, relay, receive } = await setUp();
        const orders = await receive('order');
        await relay.start();
        await store.append('audit-1', [ev('Audited', { n: 1 }), ev('Audited', { n: 2 })]);
        await store.append('order-1', [ev('OrderPlaced')]);
        await relay.waitFor(await store.headPosition());
        await eventually(() => orders.messages.length === 1, 10_000, 'the routable stream');
        const letters = await relay.deadLetters();
        expect(letters.map((l) => `${l.status} ${l.streamId}@${l.event.streamVersion}`)).toEqual(['dead audit-1@1', 'parked audit-1@2']);
        expect(letters[0]!.error).toContain('unroutable');

        const audits = await receive('audit');
        expect(await relay.retryDeadLetter(letters[0]!.id)).toEqual({ handled: 2, remaining: 0 });
        await eventually(() => audits.messages.length === 2, 10_000, 'the retried audit events');
        expect(audits.events().map((e) => e.streamVersion)).toEqual([1, 2]);
        await store.append('audit-1', [ev('Audited', { n: 3 })]);
        await relay.waitFor(await store.headPosition());
        await eventually(() => audits.messages.length === 3, 10_000, 'the audit stream flowing again');
      });
    },
    { ...(target.stores ? { stores: target.stores } : {}) },
  );
}
