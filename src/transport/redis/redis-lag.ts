import type { Redis } from 'ioredis';
import type { BrokerLag } from '../broker.js';
import { redisError } from './redis-errors.js';
import { redisNames } from './redis-topology.js';

/** A consumer group as XINFO GROUPS describes it (Redis 7 adds `entries-read` and `lag`). */
interface GroupInfo {
  pending: number;
  lastDeliveredId: string;
  /** Entries not delivered to the group yet; null when Redis cannot tell (entries deleted in between). */
  lag: number | null;
}

/**
 * A group's lag on Redis Streams, over its partition streams, read without creating anything
 * (XINFO, XPENDING and XRANGE are reads): the entries past the group's last-delivered id (XINFO
 * GROUPS `lag`) plus its pending entries (delivered, not acked: the adapter's retries stay
 * pending through their delay), so `countsInFlight` is true. The oldest is the lower of the
 * lowest pending id and the first id past the last-delivered one: a stream id starts with the
 * milliseconds at which Redis stored it, and the age is measured on Redis's clock (TIME).
 * Dead letters live in a stream of their own.
 *
 * @example
 * const { messages, oldestSeconds } = await redisLag(redis, 'orders', 'billing', 4)
 */
export async function redisLag(redis: Redis, topic: string, group: string, partitions: number): Promise<BrokerLag> {
  let messages = 0;
  let oldestMs = Infinity;
  try {
    for (let partition = 0; partition < partitions; partition++) {
      const stream = redisNames.stream(topic, partition);
      const info = await groupInfo(redis, stream, group);
      if (!info) continue;
      const waiting = info.lag ?? (await countAfter(redis, stream, info.lastDeliveredId));
      messages += info.pending + waiting;
      if (info.pending > 0) {
        const [, lowest] = (await redis.xpending(stream, group)) as [number, string | null, string | null, unknown];
        if (lowest) oldestMs = Math.min(oldestMs, idMs(lowest));
      }
      if (waiting > 0) {
        const [next] = await redis.xrange(stream, `(${info.lastDeliveredId}`, '+', 'COUNT', 1);
        if (next) oldestMs = Math.min(oldestMs, idMs(next[0]));
      }
    }
    if (messages === 0) return { messages, countsInFlight: true, oldestSeconds: 0 };
    if (!Number.isFinite(oldestMs)) return { messages, countsInFlight: true };
    const [seconds, micros] = await redis.time();
    const nowMs = Number(seconds) * 1000 + Number(micros) / 1000;
    return { messages, countsInFlight: true, oldestSeconds: Math.max(0, (nowMs - oldestMs) / 1000) };
  } catch (error) {
    throw redisError(error);
  }
}

/** The group on one stream, or none when the stream or the group does not exist. */
async function groupInfo(redis: Redis, stream: string, group: string): Promise<GroupInfo | undefined> {
  let reply: unknown[][];
  try {
    reply = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
  } catch (error) {
    if ((error as Error).message?.includes('no such key')) return undefined;
    throw error;
  }
  for (const flat of reply) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1]);
    if (String(fields.get('name')) !== group) continue;
    const lag = fields.get('lag');
    return { pending: Number(fields.get('pending') ?? 0), lastDeliveredId: String(fields.get('last-delivered-id') ?? '0-0'), lag: lag === null || lag === undefined ? null : Number(lag) };
  }
  return undefined;
}

/** Counts the entries past an id, page by page: the fallback when XINFO cannot give the lag. */
async function countAfter(redis: Redis, stream: string, afterId: string): Promise<number> {
  let count = 0;
  for (let from = afterId; ; ) {
    const page = await redis.xrange(stream, `(${from}`, '+', 'COUNT', 1000);
    count += page.length;
    if (page.length < 1000) return count;
    from = page[page.length - 1]![0];
  }
}

/** The milliseconds since the epoch at which Redis stored an entry: the first part of its id. */
const idMs = (id: string): number => Number(id.split('-')[0]);
