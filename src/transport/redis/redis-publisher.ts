import type { Redis } from 'ioredis';
import { partitionOf } from '../../consumers/partition-of.js';
import { brokerUnavailableError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { fitsIn } from '../message-bytes.js';
import { toFields } from './redis-message.js';
import { redisNames, trimArguments, type RedisTrimming } from './redis-topology.js';

export interface RedisPublisherSettings {
  partitions: number;
  maxMessageBytes: number;
  trimming: RedisTrimming;
}

/**
 * Publishes a batch as one pipeline of XADDs (one per message, to the stream of its key's
 * partition), after a check that the topic has a group. Calls run one after the other in call
 * order, so one key's messages keep the order of the calls even when the caller does not await
 * each one. Each message resolves on its own XADD reply.
 */
export class RedisPublisher {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly settings: RedisPublisherSettings,
  ) {}

  publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const run = this.queue.then(() => this.send(topic, messages));
    this.queue = run.catch(() => {});
    return run;
  }

  private async send(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const results: PublishResult[] = new Array(messages.length);
    const sendable: number[] = [];
    messages.forEach((message, i) => {
      if (fitsIn(message, this.settings.maxMessageBytes)) sendable.push(i);
      else results[i] = { messageId: message.id, status: 'refused', error: messageRefusedError('Redis', message.id, 'too_large', `larger than maxMessageBytes (${this.settings.maxMessageBytes})`) };
    });
    if (sendable.length === 0) return results;
    const unavailable = (error: unknown) => {
      for (const i of sendable) results[i] = { messageId: messages[i]!.id, status: 'unavailable', error: brokerUnavailableError('Redis', error) };
      return results;
    };
    let groups: number;
    try {
      groups = await this.redis.scard(redisNames.groups(topic));
    } catch (error) {
      return unavailable(error);
    }
    if (groups === 0) {
      for (const i of sendable) results[i] = { messageId: messages[i]!.id, status: 'refused', error: messageRefusedError('Redis', messages[i]!.id, 'unroutable', `topic ${topic} has no group`) };
      return results;
    }
    const pipeline = this.redis.pipeline();
    for (const i of sendable) {
      const message = messages[i]!;
      pipeline.xadd(redisNames.stream(topic, partitionOf(message.key, this.settings.partitions)), ...trimArguments(this.settings.trimming), '*', ...toFields(message));
    }
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipeline.exec();
    } catch (error) {
      return unavailable(error);
    }
    sendable.forEach((i, n) => {
      const [error] = replies?.[n] ?? [new Error('no reply')];
      results[i] = error ? { messageId: messages[i]!.id, status: 'unavailable', error: brokerUnavailableError('Redis', error) } : { messageId: messages[i]!.id, status: 'confirmed' };
    });
    return results;
  }
}
