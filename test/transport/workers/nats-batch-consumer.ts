// A batch consumer of one group at the given prefetch: prints "got <partition> <key> <n>" per message
// it handles, in handling order, then acks it. The parent reads the lines and may SIGKILL it.
import { setTimeout as sleep } from 'node:timers/promises';
import { openNatsBroker } from '../../../src/nats.js';

const [servers, topic, group, settings, prefetch] = process.argv.slice(2);
const broker = await openNatsBroker({ servers: servers!.split(','), name: `batch-consumer-${process.pid}`, ...JSON.parse(settings!) });
await broker.consume({
  topic: topic!,
  group: group!,
  prefetch: Number(prefetch),
  handler: async () => {
    throw new Error('the batch handler takes its place');
  },
  batchHandler: async (deliveries) => {
    for (const d of deliveries) process.stdout.write(`got ${d.partition} ${d.message.key} ${d.message.headers.n}\n`);
    // Slow enough that both processes are busy while the messages flow.
    await sleep(5);
    for (const d of deliveries) await d.ack();
  },
});
process.stdout.write('ready\n');
