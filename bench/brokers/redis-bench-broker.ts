/**
 * Redis Streams for the relay and latency benchmarks: factum's adapter and raw ioredis sending
 * the same entries (same fields) to the same partition streams as pipelined XADDs with the same
 * trimming (`MAXLEN ~ 100000`), each reply awaited; one pipeline per page of the relay's size.
 */
import { Redis } from 'ioredis';
import { partitionOf } from '../../src/consumers/partition-of.js';
import { openRedisBroker, redisNames } from '../../src/redis.js';
import { toFields } from '../../src/transport/redis/redis-message.js';
import { trimArguments, type RedisTrimming } from '../../src/transport/redis/redis-topology.js';
import { nowSeconds } from '../measure.js';
import { BENCH_PARTITIONS, packageVersion, windowed, type BenchBroker, type OpenedBenchBroker } from './bench-broker.js';

const REDIS_URL = process.env.FACTUM_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The trimming both sides use: what a user who keeps a bounded history would set. */
const TRIMMING: RedisTrimming = { maxLength: 100_000 };
/** Pipelines raw keeps in flight: one at a time, or 8 (the relay's default pages in flight). */
const RAW_DEPTHS = [1, 8] as const;

/**
 * Redis Streams on `FACTUM_REDIS_URL` (redis://127.0.0.1:6379 by default).
 *
 * @example
 * const opened = await redisBenchBroker.open()
 */
export const redisBenchBroker: BenchBroker = {
  name: 'Redis Streams',
  async open(): Promise<OpenedBenchBroker> {
    const broker = await openRedisBroker({ url: REDIS_URL, partitions: BENCH_PARTITIONS, trimming: TRIMMING });
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      await broker.close();
      throw error;
    }
    const server = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
    const streams = (topic: string) => Array.from({ length: BENCH_PARTITIONS }, (_, p) => redisNames.stream(topic, p));
    return {
      broker,
      versions: `Redis ${server}, ioredis ${await packageVersion('ioredis')}`,
      rawMethod: 'ioredis pipelines of XADD MAXLEN ~ 100000 with the same fields to the same partition streams, one pipeline per page of the relay\'s size, every reply awaited, at most `depth` pipelines in flight',
      async prepare(topic, group) {
        // The group's consumer registers it (a publish to a topic without a group is refused) and creates its streams.
        await (await broker.consume({ topic, group, handler: async () => {} })).stop();
      },
      async reset(topic) {
        // Empty, but the streams and their consumer groups stay.
        const pipeline = redis.pipeline();
        for (const stream of streams(topic)) pipeline.xtrim(stream, 'MAXLEN', 0);
        await pipeline.exec();
      },
      async rawPublishers(batches, quick) {
        const trim = trimArguments(TRIMMING);
        const prepared = batches.map((batch) => batch.map((m) => ({ partition: partitionOf(m.key, BENCH_PARTITIONS), fields: toFields(m) })));
        return RAW_DEPTHS.slice(0, quick ? 1 : undefined).map((depth) => ({
          name: `depth ${depth}`,
          async run(topic: string) {
            const names = streams(topic);
            const start = nowSeconds();
            await windowed(prepared.length, depth, async (b) => {
              const pipeline = redis.pipeline();
              for (const m of prepared[b]!) pipeline.xadd(names[m.partition]!, ...trim, '*', ...m.fields);
              const replies = (await pipeline.exec()) ?? [];
              const failed = replies.find(([error]) => error);
              if (failed) throw failed[0]!;
            });
            return nowSeconds() - start;
          },
        }));
      },
      async remove(topic, groups) {
        const keys = [...streams(topic), redisNames.groups(topic)];
        for (const group of groups) {
          keys.push(redisNames.deadLetters(topic, group));
          for (let p = 0; p < BENCH_PARTITIONS; p++) keys.push(redisNames.lease(topic, group, p));
        }
        await redis.del(...keys);
      },
      async close() {
        redis.disconnect();
        await broker.close();
      },
    };
  },
};
