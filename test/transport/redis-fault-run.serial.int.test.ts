// The fault run (test/transport/fault-run-suite.ts) on Redis Streams: a redis-server of the test's
// own on 6391 with AOF (appendfsync always), SIGKILLed once mid-run and started again on its dir
// (the AOF keeps the streams, groups and leases). The machine's Redis on 6379 is never touched.
import { openRedisBroker } from '../../src/redis.js';
import { redisNames } from '../../src/transport/redis/redis-topology.js';
import { portOpen } from '../services.js';
import { describeFaultRun, FAULT_RUN_GROUPS, FAULT_RUN_PARTITIONS } from './fault-run-suite.js';
import { ownRedisServer } from './own-redis-server.js';

const PORT = 6391;
/** Down this long before it is started again: the relay and the consumers see it gone. */
const DOWN_MS = 2000;
const server = await ownRedisServer(PORT);
const { Redis } = await import('ioredis');
let probe: InstanceType<typeof Redis> | undefined;

/** XINFO GROUPS of one stream as name → pending + not yet delivered (lag). */
async function groupDepths(client: InstanceType<typeof Redis>, stream: string): Promise<Map<string, number>> {
  const reply = (await client.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
  const depths = new Map<string, number>();
  for (const flat of reply) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), flat[i + 1]);
    // A null lag (Redis cannot tell) counts as not drained.
    const lag = fields.get('lag');
    depths.set(String(fields.get('name')), Number(fields.get('pending') ?? 0) + (lag === null || lag === undefined ? Infinity : Number(lag)));
  }
  return depths;
}

await describeFaultRun({
  name: 'Redis Streams',
  kind: 'redis',
  url: server.url,
  unavailable: async () => ((await portOpen(PORT)) ? `port ${PORT} is taken (the test starts a redis-server of its own there)` : undefined),
  setUp: () => server.start(),
  openBroker: () => openRedisBroker({ url: server.url, partitions: FAULT_RUN_PARTITIONS, leaseMs: 1500 }),
  async restart(log) {
    log(`SIGKILL redis-server :${PORT}`);
    try {
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    } finally {
      await server.start();
      log(`redis-server :${PORT} started again on its AOF`);
    }
  },
  async depths(topic) {
    probe ??= new Redis(server.url, { maxRetriesPerRequest: 1 });
    const partitions: Record<string, number> = {};
    const deadLetters: Record<string, number> = {};
    for (let p = 0; p < FAULT_RUN_PARTITIONS; p++) {
      const groups = await groupDepths(probe, redisNames.stream(topic, p));
      for (const group of FAULT_RUN_GROUPS) if (groups.has(group)) partitions[`${redisNames.stream(topic, p)}/${group}`] = groups.get(group)!;
    }
    // A dead-letter stream exists once something is dead-lettered: none is a length of 0.
    for (const group of FAULT_RUN_GROUPS) deadLetters[redisNames.deadLetters(topic, group)] = await probe.xlen(redisNames.deadLetters(topic, group));
    return { partitions, deadLetters };
  },
  // The server and its dir go in tearDown.
  removeTopic: async () => {},
  async tearDown() {
    probe?.disconnect();
    await server.remove();
  },
});
