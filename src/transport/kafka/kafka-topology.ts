import type { Admin } from 'kafkajs';
import { FactumError } from '../../core/errors.js';
import { kafkaError } from './kafka-errors.js';

/**
 * The Kafka names factum uses: a topic is a Kafka topic of that name, and each group of it has a
 * dead-letter topic `<topic>.<group>.dead-letters` (its letters, and a marker when one is retried
 * or skipped). A group is a Kafka consumer group named `<topic>.<group>`: Kafka's groups span
 * topics, and members of one group that subscribe to different topics would take each other's
 * partitions away (factum's group, like a RabbitMQ queue, belongs to one topic). Topics are created by the first consumer of a group, never by a publisher, so a
 * topic nobody consumes does not exist and its messages are refused as unroutable.
 *
 * @example
 * kafkaNames.deadLetterTopic('orders', 'billing') // 'orders.billing.dead-letters'
 * kafkaNames.groupId('orders', 'billing') // 'orders.billing'
 */
export const kafkaNames = {
  deadLetterTopic: (topic: string, group: string): string => `${topic}.${group}.dead-letters`,
  groupId: (topic: string, group: string): string => `${topic}.${group}`,
};

/**
 * Creates a topic with `partitions` partitions unless it exists, then checks the count it has:
 * publishers and consumers pick partitions by the same hash, so a topic with another count is a
 * configuration error. A server without CreateTopics (librdkafka's mock cluster) creates topics
 * on their first metadata request; the check then tells whether its count is the one expected.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number | 'any'): Promise<void> {
  let createFailure: unknown;
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions === 'any' ? 1 : partitions }], waitForLeaders: true });
  } catch (error) {
    createFailure = error;
  }
  let found: number;
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    found = metadata.topics[0]?.partitions.length ?? 0;
  } catch (error) {
    throw kafkaError(createFailure ?? error, `creating topic ${topic}`);
  }
  if (found === 0) throw kafkaError(createFailure ?? new Error(`topic ${topic} has no partitions`), `creating topic ${topic}`);
  if (partitions !== 'any' && found !== partitions) {
    throw new FactumError('INVALID_ARGUMENT', `Kafka topic ${topic} has ${found} partitions, but this broker is set to ${partitions}: publishers and consumers must agree on the count`, {
      details: { broker: 'Kafka', topic, partitions: found, expected: partitions },
    });
  }
}

/** Whether a topic exists, asked without creating it (a metadata request for every topic creates none). */
export async function topicExists(admin: Admin, topic: string): Promise<boolean> {
  try {
    return (await admin.listTopics()).includes(topic);
  } catch (error) {
    throw kafkaError(error, `looking up topic ${topic}`);
  }
}
