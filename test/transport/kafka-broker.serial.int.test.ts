// Kafka is tested against librdkafka's mock cluster (scripts/kafka-mock/), the only server that
// speaks the Kafka protocol on these machines; see the README for what the mock does not cover.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from '../../src/kafka.js';
import { caught } from '../caught.js';
import { KAFKA_MOCK_DIR, kafkaBootstrap } from '../services.js';
import { CONTRACT_SETTINGS, runBrokerContract, type CrashedConsumer } from './broker-contract.js';

const bootstrap = await kafkaBootstrap();
const skipReason = 'skip' in bootstrap ? bootstrap.skip : undefined;
const brokers = 'brokers' in bootstrap ? bootstrap.brokers : [];
/**
 * The mock's settings: no idempotent producer (kafkajs asks the controller for a producer id,
 * and the mock names none), and a short session, because the mock waits a session (less 1 s)
 * for every member to rejoin before it finishes a rebalance.
 */
const MOCK_SETTINGS = { ...CONTRACT_SETTINGS, idempotent: false, sessionTimeoutMs: 4000, retries: 3 } as const;

async function spawnConsumer(topic: string, group: string): Promise<CrashedConsumer> {
  const script = fileURLToPath(new URL('./workers/kafka-crashing-consumer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, brokers.join(','), topic, group, JSON.stringify(MOCK_SETTINGS)], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The mock keeps its data in memory, so the outage is its brokers going down and up (SIGUSR1/SIGUSR2 to the launcher). */
async function signalMock(signal: 'SIGUSR1' | 'SIGUSR2', state: 'down' | 'up'): Promise<void> {
  process.kill(Number((await readFile(`${KAFKA_MOCK_DIR}/pid`, 'utf8')).trim()), signal);
  while ((await readFile(`${KAFKA_MOCK_DIR}/state`, 'utf8').catch(() => '')).trim() !== state) await sleep(20);
}

runBrokerContract({
  name: 'Kafka (librdkafka mock cluster)',
  open: () => openKafkaBroker({ brokers, ...MOCK_SETTINGS }),
  spawnConsumer,
  lagWithoutAge: 'Kafka dates a record only when it is read',
  restart: { stop: () => signalMock('SIGUSR1', 'down'), start: () => signalMock('SIGUSR2', 'up') },
  skip: skipReason
    ? [{ reason: skipReason, tests: 'all' }]
    : [
        {
          reason: 'kafkajs fetches the partitions one broker leads together, and again only once every batch of the last fetch is handled, so a running handler holds the partitions its broker leads (a retry\'s delay does not: its partition is paused)',
          tests: ['a handler still running does not hold another partition: its messages published meanwhile are handled'],
        },
      ],
});

describe.skipIf(skipReason)(`Kafka adapter${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = async (options: Partial<KafkaBrokerOptions> = {}): Promise<KafkaBroker> => {
    const broker = await openKafkaBroker({ brokers, ...MOCK_SETTINGS, ...options });
    cleanups.push(() => broker.close());
    return broker;
  };

  it('refuses a topic whose partition count is not the configured one, as INVALID_ARGUMENT with both counts', async () => {
    // The mock creates topics with 4 partitions on first use (it has no CreateTopics).
    const broker = await open({ partitions: 8 });
    const error = await caught(broker.consume({ topic: `factum-test-${randomUUID().slice(0, 8)}`, group: 'g', handler: async () => {} }));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { partitions: 4, expected: 8 } });
  });

  it('a retried dead letter reaches only its own group: the other group of the topic passes over it', async () => {
    const broker = await open();
    const t = `factum-test-${randomUUID().slice(0, 8)}`;
    const seen: Record<string, string[]> = { a: [], b: [] };
    let failing = true;
    await broker.consume({ topic: t, group: 'a', handler: async (d) => (seen.a!.push(d.message.id), failing ? d.deadLetter(new Error('no')) : d.ack()) });
    await broker.consume({ topic: t, group: 'b', handler: async (d) => void seen.b!.push(d.message.id) });
    const id = randomUUID();
    expect((await broker.publish(t, [{ id, key: 'order-1', headers: {}, body: Buffer.from('{}') }]))[0]!.status).toBe('confirmed');
    const dead = broker.deadLetters(t, 'a');
    while ((await dead.list()).length === 0) await sleep(20);
    failing = false;
    await dead.retry(id);
    const marker = randomUUID();
    await broker.publish(t, [{ id: marker, key: 'order-1', headers: {}, body: Buffer.from('{}') }]);
    while (!seen.a!.includes(marker) || !seen.b!.includes(marker)) await sleep(20);
    expect(seen.a).toEqual([id, id, marker]);
    expect(seen.b).toEqual([id, marker]);
    expect(await dead.list()).toEqual([]);
  });

  it('a batch handler gets the records of several producer requests at once (the mock answers a fetch with one request\'s records), up to the prefetch, in order', async () => {
    const broker = await open();
    const t = `factum-test-${randomUUID().slice(0, 8)}`;
    // A first group creates the topic; the second starts once the partition holds six requests of one record each.
    await (await broker.consume({ topic: t, group: 'creator', handler: async (d) => d.ack() })).stop();
    for (let seq = 1; seq <= 6; seq++) {
      expect((await broker.publish(t, [{ id: randomUUID(), key: 'order-1', headers: { seq: String(seq) }, body: Buffer.from('{}') }]))[0]!.status).toBe('confirmed');
    }
    const batches: number[][] = [];
    await broker.consume({
      topic: t,
      group: 'g',
      prefetch: 4,
      handler: async () => {
        throw new Error('the batch handler takes its place');
      },
      batchHandler: async (deliveries) => {
        batches.push(deliveries.map((d) => Number(d.message.headers.seq)));
        for (const d of deliveries) await d.ack();
      },
    });
    while (batches.flat().length < 6) await sleep(20);
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('the idempotent producer cannot start on the mock, which names no controller: opening is BROKER_UNAVAILABLE, not a hang', async () => {
    // kafkajs asks the controller for a producer id; the mock's metadata says controller 0, a broker it does not have.
    const error = await caught(openKafkaBroker({ brokers, idempotent: true, retries: 1 }));
    expect(error).toMatchObject({ code: 'BROKER_UNAVAILABLE', cause: expect.any(Error) });
  });

  it('refuses the idempotent producer without retries as INVALID_ARGUMENT', async () => {
    expect(await caught(openKafkaBroker({ brokers, retries: 0 }))).toMatchObject({ code: 'INVALID_ARGUMENT', details: { option: 'retries' } });
  });

  it('fails to open with BROKER_UNAVAILABLE, the connection error as cause, when nothing listens', async () => {
    const error = await caught(openKafkaBroker({ brokers: ['127.0.0.1:1'], idempotent: false, retries: 0 }));
    expect(error).toMatchObject({ code: 'BROKER_UNAVAILABLE', cause: expect.any(Error) });
  });
});
