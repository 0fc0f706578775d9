import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openRabbitMqBroker, type RabbitMqBroker } from '../../src/rabbitmq.js';
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
      await (broker as RabbitMqBroker).deleteTopology(topic, groups);
    } finally {
      await broker.close();
    }
  },
  spawnConsumer,
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
