import type { Admin } from 'kafkajs';
import type { BrokerLag } from '../broker.js';
import { kafkaError } from './kafka-errors.js';
import { kafkaNames, topicExists } from './kafka-topology.js';

const none = (): BrokerLag => ({ messages: 0, countsInFlight: true, oldestSeconds: 0 });

/**
 * A group's lag on Kafka, summed over the topic's partitions: the high watermark less the group's
 * committed offset (or, where it committed nothing yet, less the low watermark). The adapter
 * commits only past settled records, so a record handed to a handler and not settled (a retry
 * waiting out its delay included) is lag: `countsInFlight` is true. Kafka dates records only by
 * reading them, so there is no `oldestSeconds` (0 with no lag). Dead letters are another topic.
 *
 * A group never declared has no lag. Kafka tells it apart from a group that committed nothing
 * yet only through DescribeGroups (state `Dead`); a cluster without that API (librdkafka's mock)
 * leaves a group with no commit at all counted as undeclared, which it is but for the moment
 * between its consumer's join and the first record it hands out (the adapter commits then).
 * The topic's existence is checked first: on the mock, a metadata request names a topic into being.
 *
 * @example
 * const { messages } = await kafkaLag(admin, 'orders', 'billing')
 */
export async function kafkaLag(admin: Admin, topic: string, group: string): Promise<BrokerLag> {
  try {
    if (!(await topicExists(admin, topic))) return none();
    const groupId = kafkaNames.groupId(topic, group);
    const [ends, fetched] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committed = new Map((fetched[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    const anyCommit = [...committed.values()].some((offset) => offset >= 0n);
    if (!anyCommit && !(await groupKnown(admin, groupId))) return none();
    let messages = 0n;
    for (const { partition, high, low } of ends) {
      const from = committed.get(partition) ?? -1n;
      // -1: nothing committed, the group starts at the oldest record kept; a commit below it points at records retention removed.
      const start = from < BigInt(low) ? BigInt(low) : from;
      if (BigInt(high) > start) messages += BigInt(high) - start;
    }
    return messages === 0n ? none() : { messages: Number(messages), countsInFlight: true };
  } catch (error) {
    throw kafkaError(error, `reading the lag of ${topic}/${group}`);
  }
}

/** Whether the cluster knows the group (any state but `Dead`); false when it cannot tell (no DescribeGroups). */
async function groupKnown(admin: Admin, groupId: string): Promise<boolean> {
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups.some((g) => g.groupId === groupId && g.state !== 'Dead');
  } catch (error) {
    if (unsupportedApi(error)) return false;
    throw error;
  }
}

/** Whether the cluster lacks the API asked for; kafkajs wraps that refusal in the error its retries end with. */
function unsupportedApi(error: unknown): boolean {
  for (let e = error as { name?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'KafkaJSServerDoesNotSupportApiKey') return true;
  }
  return false;
}
