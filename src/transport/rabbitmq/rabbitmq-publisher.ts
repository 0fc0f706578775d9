import type { ConfirmChannel, Options } from 'amqplib';
import { partitionOf } from '../../consumers/partition-of.js';
import type { FactumError } from '../../core/errors.js';
import { brokerUnavailableError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { fitsIn, messageBytes } from '../message-bytes.js';
import { rabbitMqNames } from './rabbitmq-topology.js';
import { toAmqp } from './rabbitmq-message.js';

/** amqplib's callback error for a basic.nack; any other error means the channel went away. */
const NACKED = 'message nacked';

export interface RabbitMqPublisherSettings {
  partitions: number;
  maxMessageBytes: number;
  confirmWindow: number;
  /** Declares a topic's exchange once per connection. */
  declareTopic: (topic: string) => Promise<void>;
}

/**
 * Publishes on one confirm channel with `mandatory`, at most `confirmWindow` messages awaiting
 * their confirm at a time (a bounded window: memory stays flat, and the broker is never asked to
 * buffer a whole batch). A message RabbitMQ returns (no queue bound) is refused as unroutable,
 * a nack is refused as nacked, a channel that closes before the confirm makes it unavailable.
 *
 * @example
 * const results = await publisher.publish('orders', messages)
 */
export class RabbitMqPublisher {
  private channel: ConfirmChannel | undefined;
  private lastError: unknown = new Error('not connected');
  private unconfirmed = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly returned = new Set<string>();

  constructor(private readonly settings: RabbitMqPublisherSettings) {}

  attach(channel: ConfirmChannel): void {
    channel.on('return', (message) => this.returned.add(String(message.properties.messageId)));
    channel.on('error', (error) => (this.lastError = error));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
      // Publishers blocked on the window are freed: their messages fail as unavailable.
      this.slotWaiters.splice(0).forEach((wake) => wake());
    });
    this.channel = channel;
  }

  detach(error: unknown): void {
    this.lastError = error;
    this.channel = undefined;
    this.slotWaiters.splice(0).forEach((wake) => wake());
  }

  async publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const results: PublishResult[] = new Array(messages.length);
    const confirms: Promise<void>[] = [];
    let declared = false;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      if (!fitsIn(message, this.settings.maxMessageBytes)) {
        results[i] = { messageId: message.id, status: 'refused', error: messageRefusedError('RabbitMQ', message.id, 'too_large', `${messageBytes(message)} bytes, the limit is ${this.settings.maxMessageBytes}`) };
        continue;
      }
      if (!declared) {
        try {
          await this.settings.declareTopic(topic);
          declared = true;
        } catch (error) {
          results[i] = this.unavailable(message.id, error);
          continue;
        }
      }
      const { content, options } = toAmqp(message);
      confirms.push(
        this.send(rabbitMqNames.exchange(topic), String(partitionOf(message.key, this.settings.partitions)), content, { ...options, mandatory: true }).then((error) => {
          results[i] = this.outcome(message.id, error);
        }),
      );
    }
    await Promise.all(confirms);
    return results;
  }

  /** Publishes one message and resolves with undefined once confirmed, or with the error; never rejects. */
  async send(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<unknown> {
    while (this.unconfirmed >= this.settings.confirmWindow && this.channel) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    const channel = this.channel;
    if (!channel) return this.lastError;
    this.unconfirmed++;
    let writable = true;
    const confirmed = new Promise<unknown>((resolve) => {
      try {
        writable = channel.publish(exchange, routingKey, content, options, (error) => {
          this.unconfirmed--;
          this.slotWaiters.shift()?.();
          resolve(error ?? undefined);
        });
      } catch (error) {
        this.unconfirmed--;
        this.slotWaiters.shift()?.();
        resolve(error);
      }
    });
    // The socket's buffer is full: wait for it to drain before the next message (or for the confirm, if it came first).
    if (!writable) await Promise.race([new Promise((resolve) => channel.once('drain', resolve)), confirmed]);
    return confirmed;
  }

  private outcome(messageId: string, error: unknown): PublishResult {
    if (error === undefined) {
      if (this.returned.delete(messageId)) {
        return { messageId, status: 'refused', error: messageRefusedError('RabbitMQ', messageId, 'unroutable', 'no queue is bound to its topic and partition (is a consumer group declared?)') };
      }
      return { messageId, status: 'confirmed' };
    }
    if ((error as Error | undefined)?.message === NACKED) return { messageId, status: 'refused', error: messageRefusedError('RabbitMQ', messageId, 'nacked', 'the broker nacked it', error) };
    return this.unavailable(messageId, error);
  }

  private unavailable(messageId: string, cause: unknown): PublishResult {
    const error: FactumError = brokerUnavailableError('RabbitMQ', cause);
    return { messageId, status: 'unavailable', error };
  }
}
