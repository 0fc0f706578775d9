/**
 * The raw amqplib side of the broker benchmarks (bench/broker-publish.ts, bench/relay.ts): the
 * same messages as factum publishes, as AMQP content and properties with the partition's routing
 * key, published in batches with publisher confirms and at most `window` unconfirmed.
 */
import type { ConfirmChannel, Options } from 'amqplib';
import { partitionOf } from '../src/consumers/partition-of.js';
import type { BrokerMessage } from '../src/transport/broker-message.js';
import { toAmqp } from '../src/transport/rabbitmq/rabbitmq-message.js';
import { nowSeconds } from './measure.js';

export interface AmqpMessage {
  key: string;
  content: Buffer;
  options: Options.Publish;
}

/** The messages as raw amqplib publishes them (done before the clock starts). */
export function prepareForAmqp(messages: BrokerMessage[], partitions: number): AmqpMessage[] {
  return messages.map((message) => {
    const { content, options } = toAmqp(message);
    return { key: String(partitionOf(message.key, partitions)), content, options };
  });
}

/**
 * Raw amqplib, with messages prepared before the clock starts: per batch, publish with at most
 * `window` unconfirmed (window = batch size is "publish the batch, then waitForConfirms").
 */
export async function rawRun(channel: ConfirmChannel, topic: string, prepared: AmqpMessage[][], window: number): Promise<number> {
  const start = nowSeconds();
  for (const batch of prepared) {
    if (window >= batch.length) {
      for (const m of batch) channel.publish(topic, m.key, m.content, m.options);
      await channel.waitForConfirms();
      continue;
    }
    let unconfirmed = 0;
    let wake: (() => void) | undefined;
    const all: Promise<void>[] = [];
    for (const m of batch) {
      while (unconfirmed >= window) await new Promise<void>((resolve) => (wake = resolve));
      unconfirmed++;
      all.push(
        new Promise<void>((resolve, reject) =>
          channel.publish(topic, m.key, m.content, m.options, (error) => {
            unconfirmed--;
            wake?.();
            wake = undefined;
            if (error) reject(error);
            else resolve();
          }),
        ),
      );
    }
    await Promise.all(all);
  }
  return nowSeconds() - start;
}

