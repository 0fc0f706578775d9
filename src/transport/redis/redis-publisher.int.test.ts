// The Redis publisher's order guards, on the machine's Redis (127.0.0.1:6379): behind a TCP proxy
// that the test cuts (the server, which other tests use, keeps running), and with a stream key
// the test turns into a string for a while, so that Redis itself fails one call's XADDs.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../consumers/partition-of.js';
import { openRedisBroker } from '../../redis.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { eventually } from '../../../test/runner-suites/helpers.js';
import { serviceUnavailable } from '../../../test/services.js';
import { TcpProxy } from '../../../test/tcp-proxy.js';
import { fieldMap } from './redis-message.js';
import { redisNames } from './redis-topology.js';

const skip = await serviceUnavailable('Redis', 6379);
const URL = 'redis://127.0.0.1:6379';
const topics: string[] = [];
afterAll(async () => {
  if (skip || topics.length === 0) return;
  const redis = new Redis(URL);
  for (const topic of topics) {
    const keys = await redis.keys(`factum:${topic}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

const newTopic = (prefix: string): string => {
  const topic = `${prefix}-${randomUUID().slice(0, 8)}`;
  topics.push(topic);
  return topic;
};
const message = (key: string, seq: number): BrokerMessage => ({ id: randomUUID(), key, headers: { seq: String(seq) }, body: Buffer.from(`${key}:${seq}`) });
const statuses = (results: PublishResult[]) => results.map((r) => r.status);
const errorOf = (result: PublishResult | undefined): string => (result && result.status !== 'confirmed' ? result.error.message : '');

describe.skipIf(Boolean(skip))(`Redis publisher: order when a call fails${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('holds a key whose message went unconfirmed (connection lost): its later messages are answered unavailable unsent (other keys flow) until that message is published again; then the stream has them in order, once', { timeout: 30_000 }, async () => {
    const topic = newTopic('hold');
    const proxy = await TcpProxy.open(6379);
    const direct = await openRedisBroker({ url: URL, partitions: 1 });
    const proxied = await openRedisBroker({ url: `redis://127.0.0.1:${proxy.port}`, partitions: 1 });
    const seen: string[] = [];
    const consumer = await direct.consume({ topic, group: 'g', handler: async (d) => void seen.push(`${d.message.key}:${d.message.headers.seq}`) });
    try {
      const [a1, a2, a3, b1] = [message('a', 1), message('a', 2), message('a', 3), message('b', 1)];
      await proxy.cut();
      expect(statuses(await proxied.publish(topic, [a1]))).toEqual(['unavailable']);
      await proxy.restore();

      // a2 would be stored before a1 (and a1's copy after it): held. b is another key: it flows.
      let held: PublishResult[] = [];
      await eventually(async () => (held = await proxied.publish(topic, [a2, b1]))[1]!.status === 'confirmed', 10_000, 'the proxied connection back');
      expect(statuses(held)).toEqual(['unavailable', 'confirmed']);
      expect(errorOf(held[0])).toContain(a1.id);

      // Published again from a1 (as the relay does: the unconfirmed one, then the rest of its stream).
      expect(statuses(await proxied.publish(topic, [a1, a2, a3]))).toEqual(['confirmed', 'confirmed', 'confirmed']);
      await eventually(() => seen.length >= 4, 10_000, 'four messages consumed');
      // One partition: the stream's order is the order the messages were stored in; a's are in order, each once.
      expect(seen).toEqual(['b:1', 'a:1', 'a:2', 'a:3']);
    } finally {
      await consumer.stop();
      await proxied.close();
      await direct.close();
      await proxy.close();
    }
  });

  it('a call larger than one script goes as several, chained: every message confirmed, each stream in call order', { timeout: 30_000 }, async () => {
    const topic = newTopic('large');
    const redis = new Redis(URL);
    const broker = await openRedisBroker({ url: URL, partitions: 2 });
    try {
      await redis.sadd(redisNames.groups(topic), 'g');
      const batch = Array.from({ length: 2500 }, (_, i) => message(`k${i % 7}`, i));
      const results = await broker.publish(topic, batch);
      expect(results.map((r) => r.messageId)).toEqual(batch.map((m) => m.id));
      expect(new Set(statuses(results))).toEqual(new Set(['confirmed']));
      for (let p = 0; p < 2; p++) {
        const ids = (await redis.xrange(redisNames.stream(topic, p), '-', '+')).map(([, fields]) => fieldMap(fields).id);
        expect(ids).toEqual(batch.filter((m) => partitionOf(m.key, 2) === p).map((m) => m.id));
      }
    } finally {
      await broker.close();
      redis.disconnect();
    }
  });

  it('a call sent behind one whose XADDs Redis refused writes nothing, even of keys the failure did not touch; a call made after the answers holds the failed key and lets the others through', { timeout: 30_000 }, async () => {
    const topic = newTopic('chain');
    const partitions = 2;
    const a = 'a';
    let b = 'b0';
    for (let i = 1; partitionOf(b, partitions) === partitionOf(a, partitions); i++) b = `b${i}`;
    const redis = new Redis(URL);
    const broker = await openRedisBroker({ url: URL, partitions });
    const streamOf = (key: string) => redisNames.stream(topic, partitionOf(key, partitions));
    const stored = async (key: string): Promise<string[]> => (await redis.xrange(streamOf(key), '-', '+')).map(([, fields]) => `${fieldMap(fields).key}:${JSON.parse(fieldMap(fields).headers!).seq}`);
    try {
      // A group, so the topic is routable; a's stream is a string for now: its XADD fails (WRONGTYPE).
      await redis.sadd(redisNames.groups(topic), 'g');
      await redis.set(streamOf(a), 'not a stream');
      const [a1, a2, b1, b2] = [message(a, 1), message(a, 2), message(b, 1), message(b, 2)];
      // Both sent before the first one's answer: the second runs after the first failed.
      const [first, second] = await Promise.all([broker.publish(topic, [a1]), broker.publish(topic, [b1])]);
      expect(statuses(first)).toEqual(['unavailable']);
      expect(errorOf(first[0])).toContain('WRONGTYPE');
      expect(statuses(second)).toEqual(['unavailable']);
      expect(errorOf(second[0])).toContain('did not go through whole');
      expect(await redis.xlen(streamOf(b))).toBe(0);

      await redis.del(streamOf(a));
      // a is held by a1, b by b1: neither later message goes before its key's first.
      const held = await broker.publish(topic, [a2, b2]);
      expect(statuses(held)).toEqual(['unavailable', 'unavailable']);
      expect(errorOf(held[0])).toContain(a1.id);
      expect(errorOf(held[1])).toContain(b1.id);
      expect(statuses(await broker.publish(topic, [a1, b1, a2, b2]))).toEqual(['confirmed', 'confirmed', 'confirmed', 'confirmed']);
      expect(await stored(a)).toEqual(['a:1', 'a:2']);
      expect(await stored(b)).toEqual([`${b}:1`, `${b}:2`]);
    } finally {
      await broker.close();
      redis.disconnect();
    }
  });
});
