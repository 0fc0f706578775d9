// A consumer that takes one message, says which, and never acks: the parent SIGKILLs it.
import { openRedisBroker } from '../../../src/redis.js';

const [url, topic, group, settings] = process.argv.slice(2);
const broker = await openRedisBroker({ url: url!, ...JSON.parse(settings!) });
await broker.consume({
  topic: topic!,
  group: group!,
  handler: async (delivery) => {
    process.stdout.write(`got ${delivery.message.id}\n`);
    await new Promise(() => {});
  },
});
process.stdout.write('ready\n');
