// RabbitMQ going away for the relay (a TCP proxy between them is cut, then restored; the server
// itself, which other tests use, keeps running): the status shows the wait, then everything arrives.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openRabbitMqBroker } from '../../rabbitmq.js';
import type { BrokerMessage } from '../broker-message.js';
import { messageToEvent } from '../message-envelope.js';
import { Relay } from './relay.js';
import { ev, eventually } from '../../../test/runner-suites/helpers.js';
import { CONTRACT_SETTINGS } from '../../../test/transport/broker-contract.js';
import { createdSchemas, dropSchemas, openTestPostgres } from '../../../test/stores.js';
import { postgresUnavailable, serviceUnavailable } from '../../../test/services.js';
import { TcpProxy } from '../../../test/tcp-proxy.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const skip = (await postgresUnavailable()) ?? (await serviceUnavailable('RabbitMQ', 5672));
afterAll(() => dropSchemas(createdSchemas));

/**
 * A store, a consumer on RabbitMQ directly, and the relay's broker behind a proxy that the test
 * cuts; `relayOptions` make a relay publishing every event to the test's topic through it.
 */
async function setUp() {
  const store = await openTestPostgres();
  const proxy = await TcpProxy.open(5672);
  const topic = `relay-test-${randomUUID().slice(0, 8)}`;
  const direct = await openRabbitMqBroker({ url: AMQP_URL, ...CONTRACT_SETTINGS });
  const received: BrokerMessage[] = [];
  const consumer = await direct.consume({ topic, group: 'g', handler: async (d) => void received.push(d.message) });
  const proxied = await openRabbitMqBroker({ url: `amqp://127.0.0.1:${proxy.port}`, ...CONTRACT_SETTINGS, confirmTimeoutMs: 2000, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
  const relayOptions = { name: 'outbox', broker: proxied, route: () => topic, batchSize: 20, pollIntervalMs: 100, retry: { backoffRetries: 3, initialDelayMs: 50, maxDelayMs: 200 } };
  const distinct = () => new Set(received.map((m) => m.id)).size;
  const close = async () => {
    await proxied.close();
    await proxy.close();
    await consumer.stop();
    await direct.deleteTopology(topic, ['g']);
    await direct.close();
    await store.close();
  };
  return { store, proxy, received, relayOptions, distinct, close };
}

describe.skipIf(Boolean(skip))(`relay with RabbitMQ going away${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('retries with backoff while the broker is unreachable, shows it in status, and publishes everything once it is back', { timeout: 60_000 }, async () => {
    const { store, proxy, received, relayOptions, distinct, close } = await setUp();
    const errors: string[] = [];
    const relay = new Relay(store, { ...relayOptions, onError: (e) => errors.push((e as { code?: string }).code ?? String(e)) });
    try {
      await relay.start();
      const append = async (from: number, to: number) => {
        for (let i = from; i < to; i++) await store.append(`order-${i % 7}`, [ev('Happened', { i })]);
      };
      await append(0, 50);
      await relay.waitFor(await store.headPosition());
      const confirmedBefore = relay.status().lastConfirmAt!;

      await proxy.cut();
      await append(50, 150);
      await eventually(() => relay.status().waitingForBrokerSince !== undefined && relay.status().lagEvents > 0n, 20_000, 'the relay to show that it waits for the broker, with a lag');
      const waiting = relay.status();
      expect(waiting.position).toBeLessThan(await store.headPosition());
      expect(waiting.lastConfirmAt!.getTime()).toBeLessThanOrEqual(Date.now());
      expect(errors).toContain('BROKER_UNAVAILABLE');
      const receivedWhileAway = distinct();
      expect(receivedWhileAway).toBeLessThan(150);

      await proxy.restore();
      await relay.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
      await eventually(() => distinct() === 150, 20_000, 'all 150 events');
      const after = relay.status();
      expect(after.waitingForBrokerSince).toBeUndefined();
      expect(after.lagEvents).toBe(0n);
      expect(after.lastConfirmAt!.getTime()).toBeGreaterThan(confirmedBefore.getTime());
      const ids: string[] = [];
      for await (const e of store.readAll()) ids.push(e.id);
      expect([...new Set(received.map((m) => m.id))].sort()).toEqual(ids.sort());
      // Duplicates come only from what was sent but not confirmed when the connection dropped.
      const perStream = new Map<string, number[]>();
      for (const e of received.map(messageToEvent)) if (!(perStream.get(e.streamId) ?? []).includes(e.streamVersion)) perStream.set(e.streamId, [...(perStream.get(e.streamId) ?? []), e.streamVersion]);
      for (const [stream, versions] of perStream) expect(versions, stream).toEqual(versions.map((_, i) => i + 1));
      console.log(`relay outage: 150 events, ${received.length} messages received (${received.length - 150} duplicates), ${errors.length} errors reported while away`);
    } finally {
      await relay.stop();
      await close();
    }
  });

  it('stopped while the broker is away, it checkpoints only what was confirmed; a relay of the same name started later publishes the rest', { timeout: 60_000 }, async () => {
    const { store, proxy, relayOptions, distinct, close } = await setUp();
    let relay = new Relay(store, relayOptions);
    try {
      await relay.start();
      for (let i = 0; i < 30; i++) await store.append(`order-${i % 3}`, [ev('Happened', { i })]);
      const confirmedUpTo = await store.headPosition();
      await relay.waitFor(confirmedUpTo);
      await proxy.cut();
      for (let i = 30; i < 60; i++) await store.append(`order-${i % 3}`, [ev('Happened', { i })]);
      await eventually(() => relay.status().waitingForBrokerSince !== undefined, 20_000, 'the relay to wait for the broker');
      await relay.stop();
      expect(relay.status().position).toBe(confirmedUpTo);

      await proxy.restore();
      relay = new Relay(store, relayOptions);
      await relay.start();
      await relay.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
      await eventually(() => distinct() === 60, 20_000, 'all 60 events');
      expect(relay.status().published).toBeGreaterThanOrEqual(30);
    } finally {
      await relay.stop();
      await close();
    }
  });
});
