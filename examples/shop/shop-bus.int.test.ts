// `npm start -- --broker rabbitmq` end to end: the four services as separate processes, each with
// its own store (PGlite directories, or PostgreSQL schemas), talking only through RabbitMQ; and
// the same with Payments SIGKILLed mid-run and started again. Topics, directories and schemas
// are unique to each test and removed afterwards.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { natsNames } from '../../src/nats.js';
import { openRabbitMqBroker } from '../../src/rabbitmq.js';
import { kafkaBootstrap, POSTGRES_URL, postgresUnavailable, serviceUnavailable } from '../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../test/stores.js';
import { OWN_CATEGORY, SERVICE_NAMES, type BusConfig } from './bus/bus-config.js';
import { runShopOnBus, type BusRunConfig, type BusRunResult } from './bus/run-shop-on-bus.js';
import { shopTopology } from './bus/service-processes.js';

// FACTUM_AMQP_URL: what `npm start` and every other RabbitMQ test read.
const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const noRabbit = await serviceUnavailable('RabbitMQ', 5672);
const noPostgres = noRabbit ?? (await postgresUnavailable());
const kafka = await kafkaBootstrap();
const noKafka = 'skip' in kafka ? kafka.skip : undefined;
// FACTUM_NATS_URL and FACTUM_REDIS_URL: what `npm start -- --broker nats|redis` read.
const NATS_URL = process.env.FACTUM_NATS_URL ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.FACTUM_REDIS_URL ?? 'redis://127.0.0.1:6379';
const noNats = await serviceUnavailable('NATS', 4222);
const noRedis = await serviceUnavailable('Redis', 6379);
const natsPrefixes: string[] = [];
const redisPrefixes: string[] = [];
const dirs: string[] = [];
const schemas: string[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  if (schemas.length > 0) await dropSchemas(schemas.flatMap((base) => SERVICE_NAMES.map((service) => `${base}_${service}`)));
  if (prefixes.length > 0) {
    const broker = await openRabbitMqBroker({ url: AMQP_URL });
    for (const prefix of prefixes) for (const { topic, groups } of shopTopology(prefix)) await broker.deleteTopology(topic, groups);
    await broker.close();
  }
  // Neither adapter deletes topology, so the test removes what its runs created with the raw clients:
  // the JetStream streams of the run's topics (their consumers go with them) and the Redis keys.
  if (natsPrefixes.length > 0) {
    const nc = await connectNats({ servers: NATS_URL.split(',') });
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) if (natsPrefixes.some((prefix) => name.startsWith(natsNames.stream(prefix)))) await jsm.streams.delete(name);
    await nc.close();
  }
  if (redisPrefixes.length > 0) {
    const redis = new Redis(REDIS_URL);
    for (const prefix of redisPrefixes) {
      const keys = await redis.keys(`factum:${prefix}.*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  }
});

async function embedded(): Promise<BusConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'factum-shopbus-'));
  dirs.push(dataDir);
  return { dataDir, broker: 'rabbitmq', brokerUrl: AMQP_URL, topicPrefix: prefixed() };
}

function onPostgres(): BusConfig {
  const schema = uniqueSchema();
  schemas.push(schema);
  return { databaseUrl: POSTGRES_URL, schema, dataDir: 'unused', broker: 'rabbitmq', brokerUrl: AMQP_URL, topicPrefix: prefixed() };
}

function prefixed(): string {
  const prefix = `shopbus-test-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  return prefix;
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** Every invariant, every order settled once in a final state, every message of every topic handled by every group that consumes it. */
function expectSettled(result: BusRunResult, orders: number, totalOrders: number, output: string): void {
  for (const invariant of result.invariants) expect(invariant, invariant.name).toMatchObject({ ok: true });
  expect(result.invariants).toHaveLength(9);
  expect(result.workload.orderIds).toHaveLength(orders);
  expect(sum(result.outcomes)).toBe(orders);
  expect(sum(result.allOutcomes)).toBe(totalOrders);
  expect(Object.keys(result.allOutcomes).every((k) => k === 'confirmed' || k.startsWith('cancelled: '))).toBe(true);
  // The customers race the services here, so the mix of outcomes varies; some orders always go through.
  expect(result.outcomes.confirmed).toBeGreaterThan(0);
  expect(result.deadLetters).toBe(0);
  const byCategory = new Map(result.reports.map((r) => [OWN_CATEGORY[r.service], r]));
  for (const report of result.reports) {
    expect(report.relay.position, `${report.service} relay`).toBe(report.head);
    expect(report.consumers.length).toBeGreaterThan(0);
    for (const consumer of report.consumers) expect(consumer.received, consumer.name).toBe(byCategory.get(consumer.category)!.events);
  }
  // Each order's flow crosses all four logs: 1 OrderPlaced per order in Orders' log, and as many order events as the outcomes need.
  const orderEvents = byCategory.get('order')!.events;
  expect(orderEvents).toBeGreaterThanOrEqual(2 * totalOrders);
  expect(output).not.toContain('FAIL');
  expect(output).toMatch(/└─ OrderPlaced[^\n]*\n\s+└─ PaymentSucceeded[^\n]*\n\s+└─ InventoryReserved[^\n]*\n\s+└─ OrderReadyToShip[^\n]*\n\s+└─ OrderShipped[^\n]*\n\s+└─ OrderConfirmed/);
}

async function run(config: BusRunConfig): Promise<{ result: BusRunResult; output: string }> {
  const lines: string[] = [];
  const result = await runShopOnBus({ ...config, print: (line = '') => lines.push(line) });
  return { result, output: lines.join('\n') };
}

describe.skipIf(Boolean(noRabbit))(`the shop across processes on PGlite${noRabbit ? ` (skipped: ${noRabbit})` : ''}`, () => {
  it('runs the four services as processes over RabbitMQ, and a second run continues from their stores', { timeout: 300_000 }, async () => {
    const config = await embedded();
    const first = await run({ ...config, orders: 30, seed: 5 });
    expectSettled(first.result, 30, 30, first.output);
    expect(first.result.run).toBe(1);
    expect(first.output).toContain('New stores.');
    expect(first.output).toContain(`topics ${config.topicPrefix}.*`);

    const second = await run({ ...config, orders: 10, seed: 5 });
    expectSettled(second.result, 10, 40, second.output);
    expect(second.result.run).toBe(2);
    expect(second.output).toContain('continuing from the stored state');
  });

  it('Payments SIGKILLed mid-run and started again: every order still settles once, every invariant holds', { timeout: 300_000 }, async () => {
    const config = await embedded();
    const pids: number[] = [];
    const { result, output } = await run({
      ...config,
      orders: 30,
      seed: 9,
      afterWave: async (wave, services) => {
        if (wave !== 2) return;
        // Killed once it has started on this wave's orders: mid-batch, maybe between commit and ack, or mid-publish.
        const received = async () => (await services.reports()).find((r) => r.service === 'payments')!.consumers.find((c) => c.category === 'order')!.received;
        const before = await received();
        // (Should it have handled the whole wave already, it is killed after a few polls anyway.)
        for (let poll = 0; poll < 100 && (await received()) === before; poll++) await delay(10);
        pids.push(services.pid('payments')!);
        await services.kill('payments');
        await services.restart('payments');
        pids.push(services.pid('payments')!);
      },
    });
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(pids[0]);
    expectSettled(result, 30, 30, output);
    // The restarted Payments handled what was left of wave 2 and all later waves, and nothing twice:
    // its count of messages (written with each effect) equals the messages Orders and Inventory published.
    const payments = result.reports.find((r) => r.service === 'payments')!;
    expect(payments.pid).toBe(pids[1]);
    const order = payments.consumers.find((c) => c.category === 'order')!;
    expect(order.handled + order.duplicates).toBeGreaterThan(0);
    expect(order.handled).toBeLessThan(order.received);
    expect(output).toContain('Dead letters: none');
  });
});

describe.skipIf(Boolean(noRabbit))(`the service processes${noRabbit ? ` (skipped: ${noRabbit})` : ''}`, () => {
  it('stop when their parent is SIGKILLed: no orphans', { timeout: 120_000 }, async () => {
    const config = await embedded();
    const script = fileURLToPath(new URL('./bus/fixtures/shop-parent.ts', import.meta.url));
    const parent = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const pids = await new Promise<number[]>((resolve, reject) => {
      parent.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = /ready (\[[^\]]*\])/.exec(out);
        if (ready) resolve(JSON.parse(ready[1]!) as number[]);
      });
      parent.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before its services were ready: ${out}`)));
    });
    expect(pids).toHaveLength(4);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(pids.every(alive)).toBe(true);
    parent.kill('SIGKILL');
    // Each child sees its IPC channel close, stops its consumers, relay and store, and exits.
    while (pids.some(alive)) await delay(50);
    expect(pids.filter(alive)).toEqual([]);
  });
});

// The mock cluster cannot delete topics: the run's topics stay until the mock restarts.
describe.skipIf(Boolean(noKafka))(`the shop across processes over Kafka${noKafka ? ` (skipped: ${noKafka})` : ''}`, () => {
  it('runs the four services as processes over librdkafka\'s mock cluster, each group of a service on its own topic', { timeout: 300_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'factum-shopbus-'));
    dirs.push(dataDir);
    const brokerUrl = 'brokers' in kafka ? kafka.brokers.join(',') : '';
    const { result, output } = await run({ dataDir, broker: 'kafka', brokerUrl, topicPrefix: `shopbus-test-${randomUUID().slice(0, 8)}`, orders: 20, seed: 7 });
    expectSettled(result, 20, 20, output);
    expect(output).toContain('talking only through Kafka');
  });
});

async function onBroker(broker: 'nats' | 'redis', brokerUrl: string, prefixes: string[]): Promise<BusConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'factum-shopbus-'));
  dirs.push(dataDir);
  // A topic prefix (hence stream names) of its own, so reruns of the test never meet the streams of an earlier one.
  const topicPrefix = `shopbus-test-${randomUUID().slice(0, 8)}`;
  prefixes.push(topicPrefix);
  return { dataDir, broker, brokerUrl, topicPrefix };
}

describe.skipIf(Boolean(noNats))(`the shop across processes over NATS JetStream${noNats ? ` (skipped: ${noNats})` : ''}`, () => {
  it('runs the four services as processes over NATS JetStream, and a second run continues from their stores and streams', { timeout: 300_000 }, async () => {
    const config = await onBroker('nats', NATS_URL, natsPrefixes);
    const first = await run({ ...config, orders: 20, seed: 7 });
    expectSettled(first.result, 20, 20, first.output);
    expect(first.output).toContain('talking only through NATS JetStream');
    const second = await run({ ...config, orders: 10, seed: 7 });
    expectSettled(second.result, 10, 30, second.output);
    expect(second.result.run).toBe(2);
  });
});

describe.skipIf(Boolean(noRedis))(`the shop across processes over Redis Streams${noRedis ? ` (skipped: ${noRedis})` : ''}`, () => {
  it('runs the four services as processes over Redis Streams', { timeout: 300_000 }, async () => {
    const config = await onBroker('redis', REDIS_URL, redisPrefixes);
    const { result, output } = await run({ ...config, orders: 20, seed: 7 });
    expectSettled(result, 20, 20, output);
    expect(output).toContain('talking only through Redis Streams');
  });
});

describe('npm start -- --broker rabbitmq without RabbitMQ', () => {
  it('fails at once with one line naming BROKER_UNAVAILABLE, exit code 1, and starts no service', { timeout: 60_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'factum-shopbus-'));
    dirs.push(dataDir);
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    // Port 1: nothing listens there.
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--broker', 'rabbitmq'], {
      env: { ...process.env, FACTUM_AMQP_URL: 'amqp://127.0.0.1:1', FACTUM_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^factum shop: RabbitMQ is unavailable: .*\[BROKER_UNAVAILABLE\]$/)]);
    expect(await readdir(dataDir)).toEqual([]);
  });
});

describe.skipIf(Boolean(noPostgres))(`the shop across processes on PostgreSQL${noPostgres ? ` (skipped: ${noPostgres})` : ''}`, () => {
  it('runs the four services as processes over RabbitMQ, each in its own schema', { timeout: 300_000 }, async () => {
    const config = onPostgres();
    const { result, output } = await run({ ...config, orders: 30, seed: 6 });
    expectSettled(result, 30, 30, output);
    expect(output).toContain(`schemas ${config.schema}_<service>`);
  });
});
