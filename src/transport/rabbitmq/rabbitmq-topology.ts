import type { Channel } from 'amqplib';

/**
 * The names and declarations of factum's RabbitMQ topology, all durable and declared
 * idempotently (re-declaring with the same arguments is a no-op):
 * - topic `t`: a direct exchange `t`; a publisher routes each message to the key's partition
 *   (`partitionOf(key, partitions)`, the routing key is the partition number);
 * - group `g`: quorum queues `t.g.0` .. `t.g.{n-1}`, each bound to its partition number, with a
 *   single active consumer (one consumer at a time per partition: per-key order across competing
 *   consumers), a delivery limit, and dead-lettering to `t.dead-letter` (direct) with routing key
 *   `g`, which holds the quorum queue `t.g.dead-letter`.
 */
export const rabbitMqNames = {
  exchange: (topic: string) => topic,
  deadLetterExchange: (topic: string) => `${topic}.dead-letter`,
  partitionQueue: (topic: string, group: string, partition: number) => `${topic}.${group}.${partition}`,
  deadLetterQueue: (topic: string, group: string) => `${topic}.${group}.dead-letter`,
};

export interface GroupTopology {
  topic: string;
  group: string;
  partitions: number;
  deliveryLimit: number;
}

/** Declares a topic's exchange. */
export async function declareTopic(channel: Channel, topic: string): Promise<void> {
  await channel.assertExchange(rabbitMqNames.exchange(topic), 'direct', { durable: true });
}

/** Declares a group's partition queues, its dead-letter exchange and queue, and their bindings. */
export async function declareGroup(channel: Channel, { topic, group, partitions, deliveryLimit }: GroupTopology): Promise<void> {
  await declareTopic(channel, topic);
  const dlx = rabbitMqNames.deadLetterExchange(topic);
  await channel.assertExchange(dlx, 'direct', { durable: true });
  await channel.assertQueue(rabbitMqNames.deadLetterQueue(topic, group), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(rabbitMqNames.deadLetterQueue(topic, group), dlx, group);
  for (let partition = 0; partition < partitions; partition++) {
    const queue = rabbitMqNames.partitionQueue(topic, group, partition);
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-single-active-consumer': true,
        // RabbitMQ dead-letters once a message was returned more than x-delivery-limit times, which is
        // one delivery more than the limit counts: deliveryLimit is the number of deliveries.
        'x-delivery-limit': deliveryLimit - 1,
        'x-dead-letter-exchange': dlx,
        'x-dead-letter-routing-key': group,
      },
    });
    await channel.bindQueue(queue, rabbitMqNames.exchange(topic), String(partition));
  }
}

/** Deletes a topic's exchanges and the given groups' queues (teardown of tests and demos). */
export async function deleteTopology(channel: Channel, topic: string, groups: string[], partitions: number): Promise<void> {
  for (const group of groups) {
    for (let partition = 0; partition < partitions; partition++) await channel.deleteQueue(rabbitMqNames.partitionQueue(topic, group, partition));
    await channel.deleteQueue(rabbitMqNames.deadLetterQueue(topic, group));
  }
  await channel.deleteExchange(rabbitMqNames.exchange(topic));
  await channel.deleteExchange(rabbitMqNames.deadLetterExchange(topic));
}
