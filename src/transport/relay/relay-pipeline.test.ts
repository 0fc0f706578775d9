// What the relay's overlapping pages could break, on every store: the checkpoint passing an
// unconfirmed page, the order of a stream's last copies when a middle page is re-published, a
// refusal in one page with its stream's later events already sent in the next.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, expect, it } from 'vitest';
import { consumerStorageFor } from '../../consumers/consumer-storage.js';
import type { EventStore } from '../../core/event-store.js';
import type { BrokerMessage } from '../broker-message.js';
import { messageToEvent } from '../message-envelope.js';
import { Relay, type RelayOptions } from './relay.js';
import { describeOnStores } from '../../../test/describe-on-stores.js';
import { ev, eventually, sleep } from '../../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';
import { HoldingBroker } from '../../../test/transport/holding-broker.js';

afterAll(() => dropSchemas(createdSchemas));

const FAST_RETRY = { immediateRetries: 0, backoffRetries: 3, initialDelayMs: 10, maxDelayMs: 20, factor: 2, jitter: 0 };

/** A gate a test opens. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Per stream, the versions ordered by where each event's LAST copy arrived. */
function lastCopyOrder(messages: BrokerMessage[]): Map<string, number[]> {
  const last = new Map<string, { index: number; streamId: string; version: number }>();
  messages.forEach((message, index) => {
    const event = messageToEvent(message);
    last.set(event.id, { index, streamId: event.streamId, version: event.streamVersion });
  });
  const byStream = new Map<string, number[]>();
  for (const { streamId, version } of [...last.values()].sort((a, b) => a.index - b.index)) byStream.set(streamId, [...(byStream.get(streamId) ?? []), version]);
  return byStream;
}

describeOnStores('relay pipelining', (on) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const setUp = async (options: Partial<RelayOptions> = {}) => {
    const store = await on.open();
    const broker = new HoldingBroker();
    cleanups.push(() => broker.close());
    const topic = `pipeline-${randomUUID().slice(0, 8)}`;
    const received: BrokerMessage[] = [];
    const consumer = await broker.consume({ topic, group: 'g', handler: async (d) => void received.push(d.message) });
    cleanups.push(() => consumer.stop());
    const relay = new Relay(store, { name: 'outbox', broker, route: () => topic, batchSize: 10, maxInFlight: 100, retry: FAST_RETRY, pollIntervalMs: 100, ...options });
    cleanups.push(() => relay.stop());
    return { store, broker, topic, received, relay };
  };

  const storedCheckpoint = async (store: EventStore) => (await consumerStorageFor(store).readCheckpoint('relay:outbox'))?.position;

  it('keeps the checkpoint before a page whose confirms are held while the two pages after it are confirmed, and moves it to the head once they come', async () => {
    const { store, broker, received, relay } = await setUp();
    for (let i = 0; i < 30; i++) await store.append(`order-${i % 3}`, [ev('Happened', { i })]);
    const head = await store.headPosition();
    const held = gate();
    broker.plans.set(0, { until: held.opened });
    await relay.start();
    await eventually(() => broker.calls.length === 3 && broker.calls[1]!.isAnswered && broker.calls[2]!.isAnswered, 10_000, 'pages 2 and 3 confirmed');
    expect(broker.calls[0]!.isAnswered).toBe(false);
    // Time for a wrong checkpoint to be written.
    await sleep(200);
    expect(relay.status().position).toBe(0n);
    expect(await storedCheckpoint(store)).toBe(0n);
    await expect(relay.waitFor(head, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });

    held.open();
    await relay.waitFor(head);
    expect(await storedCheckpoint(store)).toBe(head);
    await eventually(() => received.length === 30, 10_000, '30 messages');
    expect(new Set(received.map((m) => m.id)).size).toBe(30);
    expect(relay.status()).toMatchObject({ published: 30, lagEvents: 0n, blockedStreams: [] });
  });

  it('re-publishes, after a middle page that got `unavailable`, the later page`s messages of the same streams: the last copy of every stream is in order', async () => {
    const { store, broker, received, relay } = await setUp();
    // Every page holds two events of each of the 5 streams.
    for (let i = 0; i < 30; i++) await store.append(`order-${i % 5}`, [ev('Happened', { i })]);
    const head = await store.headPosition();
    const third = gate();
    // Page 2's confirms are lost, and answered only once page 3 was confirmed.
    broker.plans.set(1, { until: third.opened, unavailable: true });
    broker.plans.set(2, {});
    await relay.start();
    await eventually(() => broker.calls.length >= 3, 10_000, 'three pages in flight');
    await broker.calls[2]!.answered;
    third.open();
    await relay.waitFor(head);
    await eventually(() => received.length === 50, 10_000, 'the 30 first copies, page 2 again, and page 3 again');
    await sleep(50);

    expect(received).toHaveLength(50);
    expect(new Set(received.map((m) => m.id)).size).toBe(30);
    // Page 2 again (its 10 messages), then page 3's messages of the same streams again, after it.
    expect(broker.calls.map((c) => c.ids.length)).toEqual([10, 10, 10, 10, 10]);
    expect(broker.calls[3]!.ids).toEqual(broker.calls[1]!.ids);
    expect(broker.calls[4]!.ids).toEqual(broker.calls[2]!.ids);
    for (const [stream, versions] of lastCopyOrder(received)) expect(versions, stream).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await storedCheckpoint(store)).toBe(head);
    expect(relay.status().waitingForBrokerSince).toBeUndefined();
  });

  it('parks a stream`s event of the next page, already sent, behind a refusal in the page before it; retry publishes both in order', async () => {
    const { store, broker, received, relay, topic } = await setUp({ route: (e) => (e.streamId.startsWith('audit-') ? `${topic}.audit` : topic) });
    // Page 1: audit-1@1 and 9 others; page 2: audit-1@2 and 9 others.
    await store.append('audit-1', [ev('Audited', { n: 1 })]);
    for (let i = 0; i < 9; i++) await store.append(`order-${i}`, [ev('Happened', { i })]);
    await store.append('audit-1', [ev('Audited', { n: 2 })]);
    for (let i = 0; i < 9; i++) await store.append(`order-${i}`, [ev('Happened', { i })]);
    const head = await store.headPosition();
    const second = gate();
    // Page 1's answers (audit-1@1 unroutable) wait until page 2 was handed over.
    broker.plans.set(0, { until: second.opened });
    broker.plans.set(1, { until: second.opened });
    await relay.start();
    await eventually(() => broker.calls.length >= 4, 10_000, 'two pages, two topics each, in flight');
    second.open();
    await relay.waitFor(head);
    const letters = await relay.deadLetters();
    expect(letters.map((l) => `${l.status} ${l.streamId}@${l.event.streamVersion}`)).toEqual(['dead audit-1@1', 'parked audit-1@2']);
    expect(relay.status().blockedStreams).toEqual(['audit-1']);
    await eventually(() => received.length === 18, 10_000, 'the order streams');

    const audits: BrokerMessage[] = [];
    const consumer = await broker.consume({ topic: `${topic}.audit`, group: 'g', handler: async (d) => void audits.push(d.message) });
    cleanups.push(() => consumer.stop());
    expect(await relay.retryDeadLetter(letters[0]!.id)).toEqual({ handled: 2, remaining: 0 });
    await eventually(() => audits.length === 2, 10_000, 'the audit events');
    expect(audits.map((m) => messageToEvent(m).streamVersion)).toEqual([1, 2]);
    expect(relay.status().blockedStreams).toEqual([]);
  });
});
