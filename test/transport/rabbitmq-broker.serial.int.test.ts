import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PublishResult } from '../../src/transport/broker-message.js';
import { openRabbitMqBroker, type RabbitMqBroker, type RabbitMqBrokerOptions } from '../../src/rabbitmq.js';
import { caught } from '../caught.js';
import { serviceUnavailable } from '../services.js';
import { CONTRACT_SETTINGS, runBrokerContract, type CrashedConsumer } from './broker-contract.js';

const run = promisify(execFile);
const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const skipReason = await serviceUnavailable('RabbitMQ', 5672);

async function spawnConsumer(topic: string, group: string): Promise<CrashedConsumer> {
  const script = fileURLToPath(new URL('./workers/rabbitmq-crashing-consumer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, AMQP_URL, topic, group, JSON.stringify(CONTRACT_SETTINGS)], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const onData = () => out.includes('ready') && resolve();
    child.stdout!.on('data', onData);
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
  name: 'RabbitMQ',
  open: () => openRabbitMqBroker({ url: AMQP_URL, ...CONTRACT_SETTINGS, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } }),
  async cleanup(topic, groups) {
    const broker = await openRabbitMqBroker({ url: AMQP_URL, ...CONTRACT_SETTINGS });
    try {
      await broker.deleteTopology(topic, groups);
    } finally {
      await broker.close();
    }
  },
  spawnConsumer,
  lagWithoutAge: 'AMQP without the management plugin shows neither an age nor the unacked messages',
  restart: {
    // stop_app/start_app restarts RabbitMQ's application without the Erlang VM: the quickest real restart.
    stop: async () => void (await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 })),
    start: async () => {
      await run('rabbitmqctl', ['start_app'], { timeout: 60_000 });
      await run('rabbitmqctl', ['await_startup'], { timeout: 60_000 });
    },
  },
  skip: skipReason ? [{ reason: skipReason, tests: 'all' }] : [],
});

describe.skipIf(skipReason)(`RabbitMQ adapter${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = async (options: Partial<RabbitMqBrokerOptions> = {}) => {
    const broker = await openRabbitMqBroker({ url: AMQP_URL, ...CONTRACT_SETTINGS, ...options });
    cleanups.push(() => broker.close());
    return broker;
  };
  const topic = (broker: RabbitMqBroker, groups: string[]) => {
    const name = `factum-test-${randomUUID().slice(0, 8)}`;
    cleanups.push(() => broker.deleteTopology(name, groups));
    return name;
  };

  it('publishes a batch far larger than its confirm window, in order per key', async () => {
    const broker = await open({ confirmWindow: 4 });
    const t = topic(broker, ['g']);
    const seen = new Map<string, number[]>();
    await broker.consume({ topic: t, group: 'g', handler: async (d) => void seen.set(d.message.key, [...(seen.get(d.message.key) ?? []), Number(d.message.headers.seq)]) });
    const batch = Array.from({ length: 400 }, (_, i) => ({ id: randomUUID(), key: `order-${i % 8}`, headers: { seq: String(Math.floor(i / 8)) }, body: Buffer.from('{}') }));
    const results = await broker.publish(t, batch);
    expect(results.every((r) => r.status === 'confirmed')).toBe(true);
    await vi.waitFor(() => expect([...seen.values()].flat()).toHaveLength(400), { timeout: 30_000, interval: 20 });
    for (const seqs of seen.values()) expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('declares its topology idempotently, and a group declared with other settings is INVALID_ARGUMENT with the broker\'s 406 as cause', async () => {
    const first = await open();
    const t = topic(first, ['g']);
    await (await first.consume({ topic: t, group: 'g', handler: async () => {} })).stop();
    await (await (await open()).consume({ topic: t, group: 'g', handler: async () => {} })).stop();
    const other = await open({ deliveryLimit: CONTRACT_SETTINGS.deliveryLimit + 1 });
    const error = await caught(other.consume({ topic: t, group: 'g', handler: async () => {} }));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', cause: { code: 406 } });
  });

  it('dead-letters a message whose consumers keep dying before their ack, after deliveryLimit deliveries, and lists it with the broker\'s reason', async () => {
    const broker = await open();
    const t = topic(broker, ['g']);
    await (await broker.consume({ topic: t, group: 'g', handler: async () => {} })).stop();
    const poison = { id: randomUUID(), key: 'order-1', headers: { seq: '1' }, body: Buffer.from('{}') };
    expect((await broker.publish(t, [poison]))[0]!.status).toBe('confirmed');
    const dead = broker.deadLetters(t, 'g');
    let deliveries = 0;
    for (;;) {
      const consumer = await spawnConsumer(t, 'g');
      const got = await Promise.race([consumer.received, (async () => {
        while ((await dead.list()).length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        return 'dead-lettered';
      })()]);
      await consumer.kill();
      if (got === 'dead-lettered') break;
      expect(got).toBe(poison.id);
      deliveries++;
    }
    expect(deliveries).toBe(CONTRACT_SETTINGS.deliveryLimit);
    const [letter] = await dead.list();
    expect(letter).toMatchObject({ message: { id: poison.id, key: 'order-1', headers: { seq: '1' } } });
    expect(letter!.error).toContain('delivery_limit');
    expect(letter!.attempts).toBe(CONTRACT_SETTINGS.deliveryLimit);
  }, 120_000);

  it('refuses a message the broker nacks (a queue full under an overflow policy of reject-publish) as nacked, after confirming what fitted', async () => {
    const broker = await open();
    const t = topic(broker, ['g']);
    const policy = `factum-test-${randomUUID().slice(0, 8)}`;
    await run('rabbitmqctl', ['set_policy', policy, `^${t}\\.g\\.\\d+$`, JSON.stringify({ 'max-length': 1, overflow: 'reject-publish' }), '--apply-to', 'queues'], { timeout: 30_000 });
    cleanups.push(async () => void (await run('rabbitmqctl', ['clear_policy', policy], { timeout: 30_000 })));
    await (await broker.consume({ topic: t, group: 'g', handler: async () => {} })).stop();
    // Policies reach the queues asynchronously: publish until the queue is full and refusing.
    let results: PublishResult[] = [];
    const all: PublishResult[] = [];
    for (let round = 0; !results.some((r) => r.status === 'refused'); round++) {
      all.push(...results);
      results = await broker.publish(t, [0, 1].map((i) => ({ id: randomUUID(), key: 'order-1', headers: { seq: String(round * 2 + i) }, body: Buffer.from('{}') })));
      expect(results.every((r) => r.status !== 'unavailable')).toBe(true);
    }
    all.push(...results);
    expect(all[0]!.status).toBe('confirmed');
    const refused = results.find((r) => r.status === 'refused')!;
    expect(refused).toMatchObject({ error: { code: 'MESSAGE_REFUSED', details: { reason: 'nacked' } } });
  });

  it('a memory alarm that blocks publishers makes publishes unavailable instead of hanging, and publishing resumes when it clears', async () => {
    const broker = await open({ confirmTimeoutMs: 1000 });
    const t = topic(broker, ['g']);
    const received = new Set<string>();
    await broker.consume({ topic: t, group: 'g', handler: async (d) => void received.add(d.message.id) });
    const confirmed = new Set<string>();
    const batch = async (): Promise<PublishResult[]> => {
      const results = await broker.publish(t, Array.from({ length: 20 }, (_, i) => ({ id: randomUUID(), key: `order-${i % 3}`, headers: { seq: String(i) }, body: Buffer.from('{}') })));
      for (const r of results) if (r.status === 'confirmed') confirmed.add(r.messageId);
      return results;
    };
    expect((await batch()).every((r) => r.status === 'confirmed')).toBe(true);
    let unavailable: PublishResult | undefined;
    try {
      // A watermark below what RabbitMQ uses raises the memory alarm at once (runtime only, not persisted).
      await run('rabbitmqctl', ['set_vm_memory_high_watermark', '0.000001'], { timeout: 30_000 });
      while (!unavailable) unavailable = (await batch()).find((r) => r.status === 'unavailable');
    } finally {
      await run('rabbitmqctl', ['set_vm_memory_high_watermark', '0.4'], { timeout: 30_000 });
    }
    expect(unavailable).toMatchObject({ error: { code: 'BROKER_UNAVAILABLE', cause: expect.any(Error) } });
    for (;;) if ((await batch()).every((r) => r.status === 'confirmed')) break;
    await vi.waitFor(() => expect([...confirmed].filter((id) => !received.has(id))).toEqual([]), { timeout: 30_000, interval: 20 });
  }, 60_000);

  it('after a reconnect, a message whose handler still runs from the lost connection is not handled again until that handler is done', async () => {
    const broker = await open({ reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
    const t = topic(broker, ['g']);
    let running = 0;
    let overlapped = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const attempts: number[] = [];
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    await broker.consume({
      topic: t,
      group: 'g',
      handler: async (d) => {
        running++;
        if (running > 1) overlapped = true;
        attempts.push(d.attempt);
        started();
        await gate;
        running--;
      },
    });
    expect((await broker.publish(t, [{ id: randomUUID(), key: 'order-1', headers: {}, body: Buffer.from('{}') }]))[0]!.status).toBe('confirmed');
    await firstStarted;
    // The gate opens whatever happens, so that a failing case does not leave its handler (and close) hanging.
    cleanups.push(async () => release());
    try {
      await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
    } finally {
      await run('rabbitmqctl', ['start_app'], { timeout: 60_000 });
      await run('rabbitmqctl', ['await_startup'], { timeout: 60_000 });
    }
    // Connected again (the publisher works), and time for a redelivery to arrive: none may start while the first handler runs.
    for (;;) {
      const [result] = await broker.publish(t, [{ id: randomUUID(), key: 'order-2', headers: {}, body: Buffer.from('{}') }]);
      if (result!.status === 'confirmed') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(overlapped).toBe(false);
    release();
    await vi.waitFor(() => expect(attempts.length).toBeGreaterThanOrEqual(3), { timeout: 30_000, interval: 20 });
    expect(overlapped).toBe(false);
    expect(attempts[0]).toBe(1);
    expect(attempts).toContain(2);
  }, 120_000);

  it('fails to open with BROKER_UNAVAILABLE, the connection error as cause, when nothing listens', async () => {
    const error = await caught(openRabbitMqBroker({ url: 'amqp://127.0.0.1:1' }));
    expect(error).toMatchObject({ code: 'BROKER_UNAVAILABLE', cause: { code: 'ECONNREFUSED' } });
  });
});
