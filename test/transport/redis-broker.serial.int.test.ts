// The contract runs against a Redis of its own on port 6390 with AOF (`--appendonly yes
// --appendfsync always`) in a temp dir: the shared Redis on 6379 keeps nothing on disk, so a
// restart would lose every stream, and the restart case is about a Redis that keeps them.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openRedisBroker, type RedisBroker, type RedisBrokerOptions } from '../../src/redis.js';
import { caught } from '../caught.js';
import { serviceUnavailable } from '../services.js';
import { CONTRACT_SETTINGS, runBrokerContract, type CrashedConsumer } from './broker-contract.js';
import { ownRedisServer } from './own-redis-server.js';

const PORT = 6390;
const url = `redis://127.0.0.1:${PORT}`;
/** A short lease, so that a standby takes a dead consumer's partitions over within the test's time. */
const SETTINGS = { ...CONTRACT_SETTINGS, leaseMs: 1500 } as const;

const skipReason = await serviceUnavailable('Redis', 6379);
const server = await ownRedisServer(PORT);
const startServer = (): Promise<void> => server.start();
const stopServer = (): Promise<void> => server.kill();

if (!skipReason) await startServer();
afterAll(() => server.remove());

async function spawnConsumer(topic: string, group: string): Promise<CrashedConsumer> {
  const script = fileURLToPath(new URL('./workers/redis-crashing-consumer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, url, topic, group, JSON.stringify(SETTINGS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const received = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const got = /got (\S+)\n/.exec(out);
      if (got) resolve(got[1]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    void exited.then(() => reject(new Error(`the consumer process exited before it got a message: ${out}`)));
  });
  received.catch(() => {});
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => out.includes('ready') && resolve());
    void exited.then(() => reject(new Error(`the consumer process exited before ready: ${out}`)));
  });
  return {
    received,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

runBrokerContract({
  name: 'Redis Streams (AOF, appendfsync always)',
  open: () => openRedisBroker({ url, ...SETTINGS }),
  spawnConsumer,
  restart: { stop: stopServer, start: startServer },
  skip: skipReason ? [{ reason: skipReason, tests: 'all' }] : [],
});

describe.skipIf(skipReason)(`Redis adapter${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = async (options: Partial<RedisBrokerOptions> = {}): Promise<RedisBroker> => {
    const broker = await openRedisBroker({ url, ...SETTINGS, ...options });
    cleanups.push(() => broker.close());
    return broker;
  };

  it('trims a stream to about maxLength entries with MAXLEN ~: older entries are gone', async () => {
    const broker = await open({ partitions: 1, trimming: { maxLength: 100 } });
    const t = `factum-test-${randomUUID().slice(0, 8)}`;
    const consumer = await broker.consume({ topic: t, group: 'g', handler: async () => {} });
    await consumer.stop();
    const results = await broker.publish(t, Array.from({ length: 1000 }, (_, i) => ({ id: randomUUID(), key: 'k', headers: {}, body: Buffer.from(String(i)) })));
    expect(results.every((r) => r.status === 'confirmed')).toBe(true);
    const { Redis } = await import('ioredis');
    const client = new Redis(url);
    cleanups.push(async () => void client.disconnect());
    const length = await client.xlen(`factum:${t}:0`);
    expect(length).toBeLessThan(1000);
    expect(length).toBeGreaterThanOrEqual(100);
  });

  it('a handler slower than the lease keeps its partition: a standby of the group gets none of its messages meanwhile', async () => {
    const t = `factum-test-${randomUUID().slice(0, 8)}`;
    const owner = await open({ partitions: 1, leaseMs: 300 });
    const standby = await open({ partitions: 1, leaseMs: 300 });
    const seen: Array<{ by: string; seq: string }> = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await owner.consume({ topic: t, group: 'g', handler: async (d) => { seen.push({ by: 'owner', seq: d.message.headers.seq! }); if (d.message.headers.seq === '1') await gate; } });
    const first = { id: randomUUID(), key: 'k', headers: { seq: '1' }, body: Buffer.from('1') };
    await owner.publish(t, [first]);
    while (seen.length === 0) await sleep(10);
    await standby.consume({ topic: t, group: 'g', handler: async (d) => void seen.push({ by: 'standby', seq: d.message.headers.seq! }) });
    await owner.publish(t, [{ id: randomUUID(), key: 'k', headers: { seq: '2' }, body: Buffer.from('2') }]);
    // Several leases long: without renewal during the handler the standby would take the partition and message 2.
    await sleep(1500);
    expect(seen).toEqual([{ by: 'owner', seq: '1' }]);
    release();
    while (seen.length < 2) await sleep(10);
    expect(seen).toEqual([{ by: 'owner', seq: '1' }, { by: 'owner', seq: '2' }]);
  });

  it('refuses a bad option as INVALID_ARGUMENT', async () => {
    expect(await caught(openRedisBroker({ url, partitions: 0 }))).toMatchObject({ code: 'INVALID_ARGUMENT', details: { option: 'partitions' } });
  });

  it('fails to open with BROKER_UNAVAILABLE, the connection error as cause, when nothing listens', async () => {
    const error = await caught(openRedisBroker({ url: 'redis://127.0.0.1:1' }));
    expect(error).toMatchObject({ code: 'BROKER_UNAVAILABLE', cause: expect.any(Error) });
  });
});
