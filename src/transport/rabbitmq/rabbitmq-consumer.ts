import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { BrokerConsumer, ConsumeOptions, Delivery } from '../broker.js';
import { brokerUnavailableError } from '../broker-errors.js';
import { OrderedLane } from '../ordered-lane.js';
import { settleBatch, settleOnce } from '../settle-once.js';
import { fromAmqp, rawHeaders } from './rabbitmq-message.js';
import { rabbitMqNames } from './rabbitmq-topology.js';

export interface RabbitMqConsumerSettings {
  partitions: number;
  deliveryLimit: number;
  prefetch: number;
  /** Declares the group's queues (once per connection). */
  declareGroup: (topic: string, group: string) => Promise<void>;
  /** Publishes a dead letter with its error headers and resolves once RabbitMQ confirmed it. */
  deadLetter: (topic: string, group: string, message: ConsumeMessage, error: unknown, attempt: number) => Promise<void>;
  onStopped: (consumer: RabbitMqConsumer) => void;
}

interface Held {
  id: string;
  message: ConsumeMessage;
  channel: Channel;
  partition: number;
}

/**
 * A group's consumer: one channel per partition queue (each with its prefetch, so a slow
 * partition never starves the others of credit), and an `OrderedLane` per partition so that one
 * key's messages are handled one at a time and in order, also through retries. RabbitMQ has no
 * delayed redelivery without a plugin, so a retry holds its message (and its partition) for the
 * delay, then returns it with a nack; quorum queues count that as a delivery (`x-delivery-count`).
 */
export class RabbitMqConsumer implements BrokerConsumer {
  private lanes: Array<OrderedLane<Held>> = [];
  private channels: Channel[] = [];
  private stopping = false;
  /** Handlers still running from a connection that is gone. */
  private previous: Promise<unknown> = Promise.resolve();
  private readonly abort = new AbortController();

  constructor(
    private readonly options: ConsumeOptions,
    private readonly settings: RabbitMqConsumerSettings,
  ) {}

  /** (Re)starts consuming on a fresh connection: called on the first connect and after every reconnect. */
  async attach(model: ChannelModel): Promise<void> {
    if (this.stopping) return;
    // A handler from the lost connection may still run; its message comes again on this one, and
    // must not be handled twice at once (nor overtaken by the key's next message).
    await this.previous;
    await this.settings.declareGroup(this.options.topic, this.options.group);
    const prefetch = this.options.prefetch ?? this.settings.prefetch;
    const batchHandler = this.options.batchHandler;
    const batch = batchHandler ? { max: prefetch, run: (items: Held[]) => this.handleBatch(batchHandler, items) } : undefined;
    this.lanes = Array.from({ length: this.settings.partitions }, () => new OrderedLane<Held>((held) => this.handle(held), batch));
    this.channels = [];
    for (let partition = 0; partition < this.settings.partitions; partition++) {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      await channel.prefetch(prefetch);
      const lane = this.lanes[partition]!;
      await channel.consume(rabbitMqNames.partitionQueue(this.options.topic, this.options.group, partition), (message) => {
        if (message) lane.push({ id: String(message.properties.messageId), message, channel, partition });
      });
      this.channels.push(channel);
    }
  }

  /** Whether it consumes `group` of `topic`. */
  reads(topic: string, group: string): boolean {
    return this.options.topic === topic && this.options.group === group;
  }

  /** Messages delivered to it and not settled yet: in its lanes, in its handlers, waiting out a retry's delay. */
  held(): number {
    return this.lanes.reduce((n, lane) => n + lane.size, 0);
  }

  /** The connection is gone: what the lanes hold is redelivered by RabbitMQ, so it is dropped here. */
  detach(): void {
    const lanes = this.lanes;
    this.lanes = [];
    this.channels = [];
    this.previous = Promise.all(lanes.map((lane) => lane.stop()));
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.abort.abort();
    // The handlers in flight finish first, and only then do the channels close, returning what the
    // lanes held. No basic.cancel before: on a cancel RabbitMQ activates the next single active
    // consumer while this one still holds unacked messages, which the next one would then overtake.
    await Promise.all([this.previous, ...this.lanes.map((lane) => lane.stop())]);
    await Promise.all(this.channels.map((channel) => channel.close().catch(() => {})));
    this.settings.onStopped(this);
  }

  private async handle(held: Held): Promise<'done' | 'redeliver'> {
    const { delivery, outcome } = this.deliveryOf(held);
    await settleOnce(this.options.handler, delivery);
    return outcome();
  }

  /** A lane's messages in one call of the batch handler; the unsettled ones go back to the lane. */
  private async handleBatch(handler: NonNullable<ConsumeOptions['batchHandler']>, items: Held[]): Promise<{ redeliver?: string; unsettled: Held[] }> {
    const made = items.map((held) => this.deliveryOf(held));
    const unsettled = await settleBatch(
      handler,
      made.map((m) => m.delivery),
    );
    const redelivered = items.find((_, i) => made[i]!.outcome() === 'redeliver');
    return { ...(redelivered ? { redeliver: redelivered.id } : {}), unsettled: unsettled.map((i) => items[i]!) };
  }

  private deliveryOf(held: Held): { delivery: Delivery; outcome: () => 'done' | 'redeliver' } {
    const { message, channel } = held;
    const attempt = Number(rawHeaders(message)['x-delivery-count'] ?? 0) + 1;
    let outcome: 'done' | 'redeliver' = 'done';
    const settle = (act: () => void): void => {
      try {
        act();
      } catch (error) {
        // The channel closed: RabbitMQ redelivers the message, which is what a failed ack means.
        throw brokerUnavailableError('RabbitMQ', error);
      }
    };
    const deadLetter = async (error: unknown): Promise<void> => {
      await this.settings.deadLetter(this.options.topic, this.options.group, message, error, attempt);
      settle(() => channel.ack(message));
    };
    const delivery: Delivery = {
      message: fromAmqp(message),
      attempt,
      partition: held.partition,
      ack: async () => settle(() => channel.ack(message)),
      deadLetter,
      retry: async (delayMs, error) => {
        if (attempt >= this.settings.deliveryLimit) return deadLetter(error ?? new Error(`delivery limit of ${this.settings.deliveryLimit} reached`));
        // A stop cuts the delay short: the message goes back now, to whichever consumer is next.
        if (delayMs > 0) await sleep(delayMs, undefined, { signal: this.abort.signal }).catch(() => {});
        settle(() => channel.nack(message, false, true));
        outcome = 'redeliver';
      },
    };
    return { delivery, outcome: () => outcome };
  }
}
