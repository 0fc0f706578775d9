// The fault run (test/transport/fault-run-suite.ts) on the machine's RabbitMQ, restarted with
// rabbitmqctl stop_app / start_app (always started again); leftovers counted with rabbitmqctl.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openRabbitMqBroker, type RabbitMqBroker } from '../../src/rabbitmq.js';
import { serviceUnavailable } from '../services.js';
import { describeFaultRun, FAULT_RUN_GROUPS, FAULT_RUN_PARTITIONS } from './fault-run-suite.js';

const run = promisify(execFile);
const url = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';

/** Messages (ready and unacked) in each of the topic's queues, from rabbitmqctl. */
async function queueDepths(topic: string): Promise<Record<string, number>> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name', 'messages'], { timeout: 30_000 });
  const rows = stdout.split('\n').map((line) => line.trim().split(/\s+/));
  return Object.fromEntries(rows.filter(([name]) => name?.startsWith(`${topic}.`)).map(([name, n]) => [name, Number(n)]));
}

await describeFaultRun({
  name: 'RabbitMQ',
  kind: 'rabbitmq',
  url,
  unavailable: () => serviceUnavailable('RabbitMQ', 5672),
  setUp: async () => {},
  openBroker: () => openRabbitMqBroker({ url, partitions: FAULT_RUN_PARTITIONS, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } }),
  async restart(log) {
    log('rabbitmqctl stop_app');
    try {
      await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
    } finally {
      await run('rabbitmqctl', ['start_app'], { timeout: 60_000 });
      await run('rabbitmqctl', ['await_startup'], { timeout: 60_000 });
      log('rabbitmqctl start_app done');
    }
  },
  async depths(topic) {
    const queues = Object.entries(await queueDepths(topic));
    // Partition queues end in their number (`<topic>.<group>.<n>`), dead-letter queues in `.dead-letter`.
    return { partitions: Object.fromEntries(queues.filter(([name]) => /\.\d+$/.test(name))), deadLetters: Object.fromEntries(queues.filter(([name]) => !/\.\d+$/.test(name))) };
  },
  removeTopic: (broker, topic) => (broker as RabbitMqBroker).deleteTopology(topic, FAULT_RUN_GROUPS),
  tearDown: async () => {},
});
