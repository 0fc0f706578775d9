import type { Admin, Message, Producer } from 'kafkajs';
import { partitionOf } from '../../consumers/partition-of.js';
import { brokerUnavailableError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { fitsIn } from '../message-bytes.js';
import { toKafka } from './kafka-message.js';
import { topicExists } from './kafka-topology.js';

export interface KafkaPublisherSettings {
  partitions: number;
  maxMessageBytes: number;
}

/** Kafka's answers that refuse a record for good: publishing it again would not help. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * Publishes batches through one kafkajs producer (acks=all; idempotent where the cluster allows
 * it, see `KafkaBrokerOptions.idempotent`). Calls are sent one after the other in call order, so
 * one key's messages keep the order of the calls even when the caller does not await each one;
 * with at most one request in flight per broker, a retried request cannot overtake the next.
 * Each message goes to the partition `partitionOf(key)`, the hash every factum consumer uses.
 */
export class KafkaPublisher {
  private queue: Promise<unknown> = Promise.resolve();
  /** Topics seen to exist; topics are never deleted in normal operation, so a hit needs no request. */
  private readonly known = new Set<string>();

  constructor(
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly settings: KafkaPublisherSettings,
  ) {}

  publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const run = this.queue.then(() => this.send(topic, messages));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Sends records as they are (dead letters, retried letters), in the same order as publishes; rejects with `BROKER_UNAVAILABLE`. */
  sendRecords(topic: string, records: Message[]): Promise<void> {
    const run = this.queue.then(async () => {
      try {
        await this.producer.send({ topic, acks: -1, messages: records });
      } catch (error) {
        throw brokerUnavailableError('Kafka', error);
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async send(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const results: PublishResult[] = new Array(messages.length);
    const sendable: number[] = [];
    messages.forEach((message, i) => {
      if (fitsIn(message, this.settings.maxMessageBytes)) sendable.push(i);
      else results[i] = { messageId: message.id, status: 'refused', error: messageRefusedError('Kafka', message.id, 'too_large', `larger than maxMessageBytes (${this.settings.maxMessageBytes})`) };
    });
    if (sendable.length === 0) return results;
    let exists: boolean;
    try {
      exists = this.known.has(topic) || (await topicExists(this.admin, topic));
    } catch (error) {
      for (const i of sendable) results[i] = { messageId: messages[i]!.id, status: 'unavailable', error: brokerUnavailableError('Kafka', error) };
      return results;
    }
    if (!exists) {
      for (const i of sendable) {
        results[i] = { messageId: messages[i]!.id, status: 'refused', error: messageRefusedError('Kafka', messages[i]!.id, 'unroutable', `topic ${topic} does not exist: no group consumes it`) };
      }
      return results;
    }
    this.known.add(topic);
    const records = sendable.map((i) => ({ ...toKafka(messages[i]!), partition: partitionOf(messages[i]!.key, this.settings.partitions) }));
    try {
      await this.producer.send({ topic, acks: -1, messages: records });
      for (const i of sendable) results[i] = { messageId: messages[i]!.id, status: 'confirmed' };
    } catch (error) {
      // Kafka answers for a whole request: a refusal for good refuses every record of it.
      const type = (error as { type?: unknown }).type ?? (error as { cause?: { type?: unknown } }).cause?.type;
      for (const i of sendable) {
        const id = messages[i]!.id;
        results[i] = typeof type === 'string' && TOO_LARGE.has(type)
          ? { messageId: id, status: 'refused', error: messageRefusedError('Kafka', id, 'too_large', (error as Error).message, error) }
          : { messageId: id, status: 'unavailable', error: brokerUnavailableError('Kafka', error) };
      }
    }
    return results;
  }
}
