// The NATS publisher's key hold, on the machine's NATS (127.0.0.1:4222) behind a TCP proxy that the
// test cuts: the server itself, which other tests use, keeps running.
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { openNatsBroker } from '../../nats.js';
import type { BrokerMessage } from '../broker-message.js';
import { eventually } from '../../../test/runner-suites/helpers.js';
import { serviceUnavailable } from '../../../test/services.js';
import { TcpProxy } from '../../../test/tcp-proxy.js';
import { natsNames } from './nats-topology.js';

const skip = await serviceUnavailable('NATS', 4222);
const topics: string[] = [];
afterAll(async () => {
  if (skip || topics.length === 0) return;
  const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc);
  for (const topic of topics) {
    for (const name of [natsNames.stream(topic), natsNames.deadLetterStream(topic, 'g')]) await jsm.streams.delete(name).catch(() => {});
  }
  await nc.close();
});

const message = (key: string, seq: number): BrokerMessage => ({ id: randomUUID(), key, headers: { seq: String(seq) }, body: Buffer.from(`${key}:${seq}`) });

describe.skipIf(Boolean(skip))(`NATS publisher: a key whose message went unconfirmed${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('holds the key: its later messages are answered unavailable unsent (other keys flow) until that message is published again; then the stream has them in order, once', { timeout: 30_000 }, async () => {
    const topic = `hold-${randomUUID().slice(0, 8)}`;
    topics.push(topic);
    const proxy = await TcpProxy.open(4222);
    const direct = await openNatsBroker({ servers: ['nats://127.0.0.1:4222'], partitions: 1 });
    const proxied = await openNatsBroker({ servers: [`nats://127.0.0.1:${proxy.port}`], partitions: 1, publishTimeoutMs: 500 });
    const seen: string[] = [];
    const consumer = await direct.consume({ topic, group: 'g', handler: async (d) => void seen.push(`${d.message.key}:${d.message.headers.seq}`) });
    try {
      const [a1, a2, a3, b1] = [message('a', 1), message('a', 2), message('a', 3), message('b', 1)];
      await proxy.cut();
      const lost = await proxied.publish(topic, [a1]);
      expect(lost.map((r) => r.status)).toEqual(['unavailable']);
      await proxy.restore();

      // a2 would be stored before a1 (and a1's copy after it): held. b is another key: it flows.
      let held: Awaited<ReturnType<typeof proxied.publish>> = [];
      await eventually(async () => (held = await proxied.publish(topic, [a2, b1]))[1]!.status === 'confirmed', 10_000, 'the proxied connection back');
      expect(held.map((r) => r.status)).toEqual(['unavailable', 'confirmed']);
      const first = held[0]!;
      expect(first.status === 'unavailable' && first.error.message).toContain(a1.id);

      // Published again from a1 (as the relay does: the unconfirmed one, then the rest of its stream).
      const again = await proxied.publish(topic, [a1, a2, a3]);
      expect(again.map((r) => r.status)).toEqual(['confirmed', 'confirmed', 'confirmed']);
      await eventually(() => seen.length >= 4, 10_000, 'four messages consumed');
      // Nothing more comes (a second copy would).
      await new Promise((resolve) => setTimeout(resolve, 300));
      // One partition: the stream's order is the order the messages were stored in; a's are in order, each once.
      expect(seen).toEqual(['b:1', 'a:1', 'a:2', 'a:3']);
    } finally {
      await consumer.stop();
      await proxied.close();
      await direct.close();
      await proxy.close();
    }
  });
});
