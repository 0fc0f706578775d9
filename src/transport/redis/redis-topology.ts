/**
 * The Redis keys factum uses: a stream per (topic, partition), a set naming the groups of a
 * topic (a publish to a topic with no group is refused as unroutable, as on RabbitMQ), a lease
 * per (topic, group, partition) held by the one consumer that reads the partition, a
 * dead-letter stream per topic and group, and a publisher's chain per topic (the number of its
 * last call that ran whole, kept while its calls are in flight: see `RedisPublisher`).
 *
 * @example
 * redisNames.stream('orders', 2) // 'factum:orders:2'
 */
export const redisNames = {
  stream: (topic: string, partition: number): string => `factum:${topic}:${partition}`,
  groups: (topic: string): string => `factum:${topic}:groups`,
  lease: (topic: string, group: string, partition: number): string => `factum:${topic}:${group}:lease:${partition}`,
  deadLetters: (topic: string, group: string): string => `factum:${topic}:${group}:dead-letters`,
  publisherChain: (topic: string, publisher: string): string => `factum:${topic}:publisher:${publisher}`,
};

/** How a stream is trimmed on every XADD: `MAXLEN ~ n`, `MINID ~ id`, or not at all (the default). */
export type RedisTrimming = { maxLength: number } | { minId: () => string } | undefined;

/** The XADD arguments of a trimming policy. */
export function trimArguments(trimming: RedisTrimming): string[] {
  if (!trimming) return [];
  if ('maxLength' in trimming) return ['MAXLEN', '~', String(trimming.maxLength)];
  return ['MINID', '~', trimming.minId()];
}
