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
  private draining = false;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly returned = new Set<string>();

  constructor(private readonly settings: RabbitMqPublisherSettings) {}

  attach(channel: ConfirmChannel): void {
    channel.on('return', (message) => this.returned.add(String(message.properties.messageId)));
    channel.on('error', (error) => (this.lastError = error));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
      this.draining = false;
      // Publishers blocked on the window are freed: their messages fail as unavailable.
      this.slotWaiters.splice(0).forEach((wake) => wake());
    });
    this.channel = channel;
  }

  detach(error: unknown): void {
    this.lastError = error;
    this.channel = undefined;
    this.draining = false;
    this.slotWaiters.splice(0).forEach((wake) => wake());
  }

  async publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const results: PublishResult[] = new Array(messages.length);
    const exchange = rabbitMqNames.exchange(topic);
    let declared = false;
    let pending = 0;
    let allConfirmed: (() => void) | undefined;
    // Sent in batch order, one at a time through the window: a later message of a key never goes out before an earlier one.
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
      options.mandatory = true;
      pending++;
      if (this.full()) await this.room();
      this.sendNow(exchange, String(partitionOf(message.key, this.settings.partitions)), content, options, (error) => {
        results[i] = this.outcome(message.id, error);
        if (--pending === 0) allConfirmed?.();
      });
    }
    if (pending > 0) await new Promise<void>((resolve) => (allConfirmed = resolve));
    return results;
  }

  /** Publishes one message and resolves with undefined once confirmed, or with the error; never rejects. */
  send(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<unknown> {
    return this.room().then(() => new Promise((resolve) => this.sendNow(exchange, routingKey, content, options, resolve)));
  }

  private full(): boolean {
    return (this.unconfirmed >= this.settings.confirmWindow || this.draining) && this.channel !== undefined;
  }

  /** Resolves when the confirm window has room and the socket is not draining, or the channel is gone. */
  private async room(): Promise<void> {
    while (this.full()) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  /** Publishes now (the caller waited for room); `done` gets undefined on the confirm, or the error. */
  private sendNow(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, done: (error: unknown) => void): void {
    const channel = this.channel;
    if (!channel) return done(this.lastError);
    this.unconfirmed++;
    const confirmed = (error: unknown): void => {
      this.unconfirmed--;
      this.slotWaiters.shift()?.();
      done(error ?? undefined);
    };
    try {
      if (!channel.publish(exchange, routingKey, content, options, confirmed)) {
        // The socket's buffer is full: nobody sends until it drained (or the channel closed).
        this.draining = true;
        channel.once('drain', () => {
          this.draining = false;
          this.slotWaiters.splice(0).forEach((wake) => wake());
        });
      }
    } catch (error) {
      confirmed(error);
    }
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
