import type { Channel, ChannelModel } from 'amqplib';
import { isFactumError } from '../../core/errors.js';
import type { BrokerLag } from '../broker.js';
import { rabbitMqError } from './rabbitmq-errors.js';
import { rabbitMqNames } from './rabbitmq-topology.js';

/**
 * A group's lag on RabbitMQ: the ready messages of its partition queues, read with a passive
 * declare (`checkQueue`), which creates nothing. Without the management plugin AMQP shows neither
 * the unacked messages nor an age, so `countsInFlight` is false (the broker adds what its own
 * consumers hold, retries waiting out their delay included: the adapter holds those unacked) and
 * `oldestSeconds` is given only when there is nothing to date (0). The dead-letter queue is not lag.
 *
 * @example
 * const { messages } = await rabbitMqLag(model, 'orders', 'billing', 4)
 */
export async function rabbitMqLag(model: ChannelModel, topic: string, group: string, partitions: number): Promise<BrokerLag> {
  let channel: Channel | undefined;
  let messages = 0;
  try {
    for (let partition = 0; partition < partitions; partition++) {
      // A missing queue (404) closes the channel it was asked on: each check after one gets a fresh channel.
      channel ??= await throwawayChannel(model);
      try {
        messages += (await channel.checkQueue(rabbitMqNames.partitionQueue(topic, group, partition))).messageCount;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 404) throw error;
        // Never declared (or deleted): that partition has no lag.
        channel = undefined;
      }
    }
  } catch (error) {
    throw isFactumError(error) ? error : rabbitMqError(error, `reading the lag of ${topic}/${group}`);
  } finally {
    await channel?.close().catch(() => {});
  }
  return messages === 0 ? { messages, countsInFlight: false, oldestSeconds: 0 } : { messages, countsInFlight: false };
}

async function throwawayChannel(model: ChannelModel): Promise<Channel> {
  const channel = await model.createChannel();
  // The 404 of a missing queue arrives as a channel error too: it is the expected answer here.
  channel.on('error', () => {});
  return channel;
}
