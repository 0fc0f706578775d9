import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { BrokerConsumer, ConsumeOptions, Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { settleBatch, settleOnce } from '../settle-once.js';
import { isNoGroup } from './redis-errors.js';
import { ONLY_GROUP_FIELD, fieldMap, fromFields } from './redis-message.js';
import { redisNames } from './redis-topology.js';

export interface RedisConsumerSettings {
  partitions: number;
  deliveryLimit: number;
  leaseMs: number;
  deadLetter: (message: BrokerMessage, error: unknown, attempt: number) => Promise<void>;
  ensureGroup: () => Promise<void>;
  /** A new connection: each lane has its own, since XREADGROUP BLOCK holds up the connection it runs on. */
  connect: () => Redis;
  onStopped: (consumer: RedisConsumer) => void;
}

/** Renews the lease only while this consumer still holds it. */
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

type Entry = [id: string, fields: string[]];

/**
 * A group's consumer on Redis Streams. Each partition's stream is read by one consumer of the
 * group at a time: the holder of the partition's lease (`SET NX PX`, renewed while it runs); the
 * others stand by and take over when it expires (its holder died). A new holder claims the
 * partition's pending entries (XAUTOCLAIM), reads them again first, in order, then new ones; an
 * entry is acked (XACK) once settled. The attempt is the entry's delivery count (XPENDING).
 */
export class RedisConsumer implements BrokerConsumer {
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly name = `consumer-${randomUUID().slice(0, 8)}`;
  private readonly lanes: Array<Promise<void>> = [];

  constructor(
    private readonly options: ConsumeOptions,
    private readonly settings: RedisConsumerSettings,
  ) {}

  start(): void {
    for (let p = 0; p < this.settings.partitions; p++) {
      const redis = this.settings.connect();
      this.lanes.push(this.lane(redis, p).finally(() => redis.disconnect()));
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.abort.abort();
    await Promise.allSettled(this.lanes);
    this.settings.onStopped(this);
  }

  private async lane(redis: Redis, partition: number): Promise<void> {
    const lease = redisNames.lease(this.options.topic, this.options.group, partition);
    while (!this.stopping) {
      try {
        const got = await redis.set(lease, this.name, 'PX', this.settings.leaseMs, 'NX');
        if (got !== 'OK') {
          await this.pause(this.settings.leaseMs / 3);
          continue;
        }
        await this.own(redis, partition, lease);
      } catch (error) {
        // Redis is down or restarted: wait and try again (ioredis reconnects on its own).
        if (isNoGroup(error)) await this.settings.ensureGroup().catch(() => {});
        await this.pause(100);
      }
    }
    await redis.eval(RELEASE, 1, lease, this.name).catch(() => {});
  }

  /** Reads the partition while this consumer holds its lease. */
  private async own(redis: Redis, partition: number, lease: string): Promise<void> {
    const stream = redisNames.stream(this.options.topic, partition);
    const group = this.options.group;
    // JUSTID: a claim that counted as a delivery would make the next read's attempt one too many.
    // Every pending entry is claimed, however recent: the lease says its previous reader is gone.
    for (let cursor = '0'; ; ) {
      const [next] = (await redis.xautoclaim(stream, group, this.name, 0, cursor, 'COUNT', 100, 'JUSTID')) as [string, ...unknown[]];
      if (next === '0-0') break;
      cursor = next;
    }
    // Renewed on a timer, not between messages: a handler slower than the lease must not lose it
    // to a standby, which would then read the partition beside it.
    let held = true;
    const renew = setInterval(() => {
      redis.eval(RENEW, 1, lease, this.name, this.settings.leaseMs).then((renewed) => (held &&= renewed === 1), () => {});
    }, this.settings.leaseMs / 3);
    try {
      while (!this.stopping && held) {
        // Own pending entries first (a retried one, or one claimed from a dead consumer), then new ones.
        let entries = await this.read(redis, stream, '0');
        if (entries.length === 0) entries = await this.read(redis, stream, '>');
        if (entries.length > 0) await this.handle(redis, stream, partition, entries);
      }
    } finally {
      clearInterval(renew);
    }
  }

  private async read(redis: Redis, stream: string, from: string): Promise<Entry[]> {
    // A batch handler gets up to the prefetch at once; a handler, one at a time (the lane is sequential).
    const count = this.options.batchHandler ? (this.options.prefetch ?? 16) : 1;
    const args: Array<string | number> = ['GROUP', this.options.group, this.name, 'COUNT', count];
    if (from === '>') args.push('BLOCK', 100);
    const reply = (await redis.call('XREADGROUP', ...args, 'STREAMS', stream, from)) as Array<[string, Entry[]]> | null;
    return (reply?.[0]?.[1] ?? []).filter((entry) => entry[1] !== null);
  }

  private async handle(redis: Redis, stream: string, partition: number, entries: Entry[]): Promise<void> {
    const deliveries: Delivery[] = [];
    for (const [entryId, fields] of entries) {
      const delivery = await this.deliveryOf(redis, stream, partition, entryId, fieldMap(fields));
      if (delivery) deliveries.push(delivery);
    }
    if (deliveries.length === 0) return;
    // A delivery left unsettled stays pending: the next read of the pending entries hands it again, in order.
    if (this.options.batchHandler) await settleBatch(this.options.batchHandler, deliveries);
    else await settleOnce(this.options.handler, deliveries[0]!);
  }

  /** The delivery of an entry, or none for a dead letter retried for another group (acked and passed over). */
  private async deliveryOf(redis: Redis, stream: string, partition: number, entryId: string, map: Record<string, string>): Promise<Delivery | undefined> {
    const ack = () => redis.xack(stream, this.options.group, entryId).then(() => {});
    const onlyGroup = map[ONLY_GROUP_FIELD];
    if (onlyGroup !== undefined && onlyGroup !== this.options.group) {
      await ack();
      return undefined;
    }
    const pending = (await redis.xpending(stream, this.options.group, entryId, entryId, 1)) as Array<[string, string, number, number]>;
    const attempt = Number(pending[0]?.[3] ?? 1);
    const message = fromFields(map);
    const deadLetter = async (error: unknown): Promise<void> => {
      await this.settings.deadLetter(message, error, attempt);
      await ack();
    };
    return {
      message,
      attempt,
      partition,
      ack,
      deadLetter,
      retry: async (delayMs, error) => {
        if (attempt >= this.settings.deliveryLimit) return deadLetter(error ?? new Error(`delivery limit of ${this.settings.deliveryLimit} reached`));
        // The entry stays pending: it is read again (its delivery count + 1) before anything newer.
        if (delayMs > 0) await sleep(delayMs, undefined, { signal: this.abort.signal }).catch(() => {});
      },
    };
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.abort.signal }).catch(() => {});
  }
}
