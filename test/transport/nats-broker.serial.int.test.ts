// NATS JetStream against the server on 127.0.0.1:4222 (scripts/services.sh); the restart case stops and starts it.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openNatsBroker, type NatsBroker, type NatsBrokerOptions } from '../../src/nats.js';
import { MemoryEventStore } from '../../src/store/memory/memory-event-store.js';
import { Relay } from '../../src/transport/relay/relay.js';
import { caught } from '../caught.js';
import { portOpen, serviceUnavailable } from '../services.js';
import { CONTRACT_SETTINGS, runBrokerContract, type CrashedConsumer } from './broker-contract.js';

const run = promisify(execFile);
const SERVERS = ['nats://127.0.0.1:4222'];
const skipReason = await serviceUnavailable('NATS', 4222);
/** A short ack wait, so that a SIGKILLed consumer's message goes to another one within the test. */
const SETTINGS = { ...CONTRACT_SETTINGS, ackWaitMs: 2000, publishTimeoutMs: 2000 } as const;

async function spawnConsumer(topic: string, group: string): Promise<CrashedConsumer> {
  const script = fileURLToPath(new URL('./workers/nats-crashing-consumer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, SERVERS.join(','), topic, group, JSON.stringify(SETTINGS)], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The pid of the server on port 4222 (the one scripts/services.sh starts). */
async function serverPid(): Promise<number | undefined> {
  const { stdout } = await run('pgrep', ['-f', '^/usr/sbin/nats-server -a 127.0.0.1 -p 4222 ']).catch(() => ({ stdout: '' }));
  const pid = Number(stdout.trim().split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

const restart = {
  async stop() {
    const pid = await serverPid();
    if (pid === undefined) throw new Error('no nats-server on 4222 to stop');
    process.kill(pid, 'SIGTERM');
    while (await readFile(`/proc/${pid}/stat`).then(() => true, () => false)) await sleep(20);
  },
  async start() {
    // The same command and data dir as scripts/services.sh.
    await run('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/nats-server', '--', '-a', '127.0.0.1', '-p', '4222', '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log']);
    // A plain port check: serviceUnavailable throws under FACTUM_REQUIRE_SERVICES=1 while the server is still starting.
    while (!(await portOpen(4222))) await sleep(50);
  },
};

runBrokerContract({
  name: 'NATS JetStream',
  open: () => openNatsBroker({ servers: SERVERS, ...SETTINGS }),
  spawnConsumer,
  restart,
  skip: skipReason ? [{ reason: skipReason, tests: 'all' }] : [],
});

describe.skipIf(skipReason)(`NATS adapter${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = async (options: Partial<NatsBrokerOptions> = {}): Promise<NatsBroker> => {
    const broker = await openNatsBroker({ servers: SERVERS, ...SETTINGS, ...options });
    cleanups.push(() => broker.close());
    return broker;
  };

  it('stores a message published twice with the same id within the duplicate window once (Nats-Msg-Id)', async () => {
    const broker = await open();
    const t = `factum-test-${randomUUID().slice(0, 8)}`;
    const seen: string[] = [];
    await broker.consume({ topic: t, group: 'g', handler: async (d) => void seen.push(d.message.id) });
    const id = randomUUID();
    const marker = randomUUID();
    const message = { id, key: 'order-1', headers: {}, body: Buffer.from('{}') };
    expect((await broker.publish(t, [message]))[0]!.status).toBe('confirmed');
    expect((await broker.publish(t, [message]))[0]!.status).toBe('confirmed');
    await broker.publish(t, [{ ...message, id: marker }]);
    while (!seen.includes(marker)) await sleep(20);
    expect(seen).toEqual([id, marker]);
  });

  it('says its duplicate window in its capabilities', async () => {
    const broker = await open({ duplicateWindowMs: 45_000 });
    expect(broker.capabilities).toMatchObject({ dedupeByMessageId: true, dedupeWindowMs: 45_000 });
  });

  it('refuses a bad option as INVALID_ARGUMENT naming it', async () => {
    expect(await caught(openNatsBroker({ servers: SERVERS, partitions: 0 }))).toMatchObject({ code: 'INVALID_ARGUMENT', details: { option: 'partitions' } });
  });

  it('fails to open with BROKER_UNAVAILABLE, the connection error as cause, when nothing listens', async () => {
    const error = await caught(openNatsBroker({ servers: ['nats://127.0.0.1:1'] }));
    expect(error).toMatchObject({ code: 'BROKER_UNAVAILABLE', cause: expect.any(Error) });
  });
});

describe.skipIf(skipReason)(`the relay on NATS${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('refuses to start when the duplicate window is shorter than its retry schedule, naming both numbers', async () => {
    const broker = await openNatsBroker({ servers: SERVERS, ...SETTINGS, duplicateWindowMs: 1000 });
    try {
      const relay = new Relay(new MemoryEventStore(), { name: `outbox-${randomUUID().slice(0, 8)}`, broker, retry: { immediateRetries: 0, backoffRetries: 3, initialDelayMs: 1000, maxDelayMs: 1000, jitter: 0 } });
      const error = await caught(relay.start());
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { dedupeWindowMs: 1000, retryHorizonMs: 3000 } });
      // The default schedule (6.3 s) fits the default window (2 minutes).
      const roomy = await openNatsBroker({ servers: SERVERS, ...SETTINGS });
      const fits = new Relay(new MemoryEventStore(), { name: `outbox-${randomUUID().slice(0, 8)}`, broker: roomy });
      await fits.start();
      expect(fits.status().name).toBe(fits.name);
      await fits.stop();
      await roomy.close();
    } finally {
      await broker.close();
    }
  });
});
