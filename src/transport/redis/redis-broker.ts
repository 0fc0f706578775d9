import type { Redis, RedisOptions } from 'ioredis';
import { FactumError } from '../../core/errors.js';
import { loadDriver } from '../../store/load-driver.js';
import type { Broker, BrokerCapabilities, BrokerConsumer, BrokerDeadLetters, BrokerLag, ConsumeOptions } from '../broker.js';
import { brokerClosedError, brokerUnavailableError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { RedisConsumer } from './redis-consumer.js';
import { RedisDeadLetters, deadLetterFields } from './redis-dead-letters.js';
import { redisError } from './redis-errors.js';
import { redisLag } from './redis-lag.js';
import { RedisPublisher } from './redis-publisher.js';
import { redisNames, type RedisTrimming } from './redis-topology.js';

/**
 * Options of the Redis Streams broker. Publishers and consumers of one topic must agree on
 * `partitions` (the publisher picks the stream by the key's hash).
 */
export interface RedisBrokerOptions {
  /** `redis://host:port/db`; `redis://127.0.0.1:6379` by default. */
  url?: string;
  /** Streams (ordered lanes) per topic; 4 by default. */
  partitions?: number;
  /** Deliveries of one message before it is dead-lettered; 20 by default. */
  deliveryLimit?: number;
  /** Largest message (body + headers) a publish accepts; 1 MB by default. */
  maxMessageBytes?: number;
  /** A partition whose reader sends no lease renewal for this long moves to a standby consumer; 5 s by default. */
  leaseMs?: number;
  /**
   * How streams are trimmed on publish: `{ maxLength: n }` (`MAXLEN ~ n`) or `{ minId: () => id }`
   * (`MINID ~ id`); none by default. Trimmed entries are gone for replay, and a pending entry
   * trimmed before it was acked is never delivered again (see the README).
   */
  trimming?: RedisTrimming;
}

type Settings = Required<Omit<RedisBrokerOptions, 'url' | 'trimming'>> & { trimming: RedisTrimming };

/**
 * The `Broker` port on Redis Streams through `ioredis` (an optional peer dependency): a stream
 * per topic and partition, written by one script of XADDs per publish call (calls overlap),
 * consumer groups read with XREADGROUP by one lease-holding consumer per partition (per-key
 * order across competing consumers), XACK once a message is settled, XAUTOCLAIM when a partition
 * changes hands, delivery counts as attempts, and a dead-letter stream per topic and group. A
 * group's first consumer registers it; a publish to a topic no group consumes is refused as
 * unroutable.
 *
 * @example
 * const broker = await openRedisBroker({ url: 'redis://127.0.0.1:6379' })
 * await broker.consume({ topic: 'orders', group: 'billing', handler: async (d) => { await bill(d.message); await d.ack() } })
 * await broker.publish('orders', events.map(eventToMessage))
 */
export class RedisBroker implements Broker {
  readonly capabilities: BrokerCapabilities;
  /** `messaging.system` of its spans. */
  readonly system = 'redis';
  private readonly consumers = new Set<RedisConsumer>();
  private readonly publisher: RedisPublisher;
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly open: () => Redis,
    private readonly settings: Settings,
  ) {
    this.capabilities = { nativeDelayedRetry: false, dedupeByMessageId: false, partitions: settings.partitions, maxMessageBytes: settings.maxMessageBytes };
    this.publisher = new RedisPublisher(redis, settings);
  }

  /** Connects (failing with `BROKER_UNAVAILABLE` when Redis cannot be reached, `DRIVER_MISSING` without ioredis). */
  static async open(options: RedisBrokerOptions = {}): Promise<RedisBroker> {
    const settings = validated(options);
    const { Redis } = await loadDriver(() => import('ioredis'), 'ioredis', 'The Redis broker');
    const clientOptions: RedisOptions = {
      lazyConnect: true,
      // Commands fail at once while Redis is down (an `unavailable` result) instead of queueing,
      // and those unanswered when a connection drops fail with it instead of going again on the
      // next: the publisher's order across calls counts on it (see `RedisPublisher`).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * times, 1000),
    };
    const url = options.url ?? 'redis://127.0.0.1:6379';
    const connect = (): Redis => {
      const client = new Redis(url, clientOptions);
      // Failures reach callers as results and FactumErrors; an unhandled 'error' event would crash the process.
      client.on('error', () => {});
      return client;
    };
    const redis = connect();
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw brokerUnavailableError('Redis', error);
    }
    return new RedisBroker(redis, connect, settings);
  }

  async publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    if (this.closed) throw brokerClosedError('Redis');
    return this.publisher.publish(topic, messages);
  }

  async consume(options: ConsumeOptions): Promise<BrokerConsumer> {
    if (this.closed) throw brokerClosedError('Redis');
    const ensureGroup = () => this.ensureGroup(options.topic, options.group);
    try {
      await ensureGroup();
    } catch (error) {
      throw redisError(error);
    }
    const consumer = new RedisConsumer(options, {
      partitions: this.settings.partitions,
      deliveryLimit: this.settings.deliveryLimit,
      leaseMs: this.settings.leaseMs,
      ensureGroup,
      connect: this.open,
      deadLetter: async (message, error, attempt) => {
        try {
          await this.redis.xadd(redisNames.deadLetters(options.topic, options.group), '*', ...deadLetterFields(message, error, attempt));
        } catch (cause) {
          throw redisError(cause);
        }
      },
      onStopped: (stopped) => this.consumers.delete(stopped),
    });
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  deadLetters(topic: string, group: string): BrokerDeadLetters {
    return new RedisDeadLetters(this.redis, this.settings.partitions, topic, group);
  }

  /** Undelivered and pending entries over the group's partition streams: see `redisLag`. */
  async lag(topic: string, group: string): Promise<BrokerLag> {
    if (this.closed) throw brokerClosedError('Redis');
    return redisLag(this.redis, topic, group, this.settings.partitions);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    this.redis.disconnect();
  }

  /** Registers the group and creates its consumer group on every partition's stream (again after a restart lost them). */
  private async ensureGroup(topic: string, group: string): Promise<void> {
    const pipeline = this.redis.pipeline().sadd(redisNames.groups(topic), group);
    for (let p = 0; p < this.settings.partitions; p++) pipeline.xgroup('CREATE', redisNames.stream(topic, p), group, '0', 'MKSTREAM');
    const replies = (await pipeline.exec()) ?? [];
    for (const [error] of replies) if (error && !error.message.startsWith('BUSYGROUP')) throw error;
  }
}

function validated(options: RedisBrokerOptions): Settings {
  for (const name of ['partitions', 'deliveryLimit', 'maxMessageBytes', 'leaseMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new FactumError('INVALID_ARGUMENT', `Redis broker option ${name} must be a whole number of at least 1, not ${value}`, { details: { option: name, value } });
    }
  }
  return {
    partitions: options.partitions ?? 4,
    deliveryLimit: options.deliveryLimit ?? 20,
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
    leaseMs: options.leaseMs ?? 5000,
    trimming: options.trimming,
  };
}

/**
 * Opens the Redis Streams broker (`RedisBroker.open`).
 *
 * @example
 * const broker = await openRedisBroker({ url: process.env.REDIS_URL, trimming: { maxLength: 1_000_000 } })
 */
export function openRedisBroker(options: RedisBrokerOptions = {}): Promise<RedisBroker> {
  return RedisBroker.open(options);
}
