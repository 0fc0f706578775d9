import type { Channel, ChannelModel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import { FactumError, isFactumError } from '../../core/errors.js';
import { loadDriver } from '../../store/load-driver.js';
import type { Broker, BrokerCapabilities, BrokerConsumer, BrokerDeadLetters, BrokerLag, ConsumeOptions } from '../broker.js';
import { brokerClosedError, brokerUnavailableError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { deadLetterReason } from '../dead-letter-reason.js';
import { RabbitMqConsumer } from './rabbitmq-consumer.js';
import { rabbitMqLag } from './rabbitmq-lag.js';
import { DEAD_LETTER_HEADERS, RabbitMqDeadLetters } from './rabbitmq-dead-letters.js';
import { rabbitMqError } from './rabbitmq-errors.js';
import { fromAmqp, toAmqp } from './rabbitmq-message.js';
import { RabbitMqPublisher } from './rabbitmq-publisher.js';
import { declareGroup, declareTopic, deleteTopology, rabbitMqNames } from './rabbitmq-topology.js';

/**
 * Options of the RabbitMQ broker. Publishers and consumers of one topic must agree on
 * `partitions` (the publisher picks the partition queue).
 */
export interface RabbitMqBrokerOptions {
  /** `amqp://user:pass@host:5672/vhost`; `amqp://127.0.0.1` by default. */
  url?: string;
  /** Partition queues per group; 4 by default. */
  partitions?: number;
  /** Unacknowledged messages per partition queue and consumer; 16 by default. */
  prefetch?: number;
  /** Deliveries of one message before it is dead-lettered (quorum queues' `x-delivery-limit`); 20 by default. */
  deliveryLimit?: number;
  /** Largest message (body + headers) a publish accepts; 16 MiB by default (RabbitMQ's own limit is 128 MiB). */
  maxMessageBytes?: number;
  /** Messages awaiting their publisher confirm at a time; 1024 by default (see bench/broker-publish.ts). */
  confirmWindow?: number;
  /** How long a publish waits with no confirm at all before its unconfirmed messages are `unavailable`; 30 s by default. */
  confirmTimeoutMs?: number;
  /** Reconnect backoff after a lost connection, in milliseconds; 100 ms growing to 5 s by default. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
}

/**
 * The `Broker` port on RabbitMQ through `amqplib` (an optional peer dependency): publisher
 * confirms with a bounded window and `mandatory`, persistent messages on durable quorum queues,
 * partition queues with a single active consumer for per-key order across competing consumers,
 * dead letters through a dead-letter exchange, and reconnection (consumers resume) after a
 * broker restart. Topology is declared idempotently by the first publish or consume that needs it.
 *
 * @example
 * const broker = await openRabbitMqBroker({ url: 'amqp://127.0.0.1' })
 * await broker.consume({ topic: 'orders', group: 'billing', handler: async (d) => { await bill(d.message); await d.ack() } })
 * await broker.publish('orders', events.map(eventToMessage))
 */
export class RabbitMqBroker implements Broker {
  readonly capabilities: BrokerCapabilities;
  /** `messaging.system` of its spans. */
  readonly system = 'rabbitmq';
  private readonly publisher: RabbitMqPublisher;
  private readonly consumers = new Set<RabbitMqConsumer>();
  /** Declarations done on the current connection; a reconnect starts over (the broker may have lost none, but it is cheap to be sure). */
  private declared = new Map<string, Promise<void>>();
  private model: ChannelModel | undefined;
  private lastError: unknown = new Error('not connected');
  private closed = false;
  private readonly settings: Required<Omit<RabbitMqBrokerOptions, 'url' | 'reconnect'>>;
  private connection!: RecoveringChannelModel;

  private constructor(options: RabbitMqBrokerOptions) {
    for (const name of ['partitions', 'prefetch', 'deliveryLimit', 'maxMessageBytes', 'confirmWindow', 'confirmTimeoutMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
        throw new FactumError('INVALID_ARGUMENT', `RabbitMQ broker option ${name} must be a whole number of at least 1, not ${value}`, { details: { option: name, value } });
      }
    }
    this.settings = {
      partitions: options.partitions ?? 4,
      prefetch: options.prefetch ?? 16,
      deliveryLimit: options.deliveryLimit ?? 20,
      maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
      confirmWindow: options.confirmWindow ?? 1024,
      confirmTimeoutMs: options.confirmTimeoutMs ?? 30_000,
    };
    this.capabilities = { nativeDelayedRetry: false, dedupeByMessageId: false, partitions: this.settings.partitions, maxMessageBytes: this.settings.maxMessageBytes };
    this.publisher = new RabbitMqPublisher({
      partitions: this.settings.partitions,
      maxMessageBytes: this.settings.maxMessageBytes,
      confirmWindow: this.settings.confirmWindow,
      confirmTimeoutMs: this.settings.confirmTimeoutMs,
      declareTopic: (topic) => this.declare(`topic:${topic}`, (channel) => declareTopic(channel, topic)),
    });
  }

  /** Connects (failing with `BROKER_UNAVAILABLE` when RabbitMQ cannot be reached, `DRIVER_MISSING` without amqplib). */
  static async open(options: RabbitMqBrokerOptions = {}): Promise<RabbitMqBroker> {
    const amqp = await loadDriver(() => import('amqplib'), 'amqplib', 'The RabbitMQ broker');
    const broker = new RabbitMqBroker(options);
    try {
      broker.connection = await amqp.connect(options.url ?? 'amqp://127.0.0.1', {
        recovery: {
          initialDelay: options.reconnect?.initialDelayMs ?? 100,
          maxDelay: options.reconnect?.maxDelayMs ?? 5000,
          // Fail fast when the broker is not there at start; once connected, reconnect for as long as it takes.
          initialMaxRetries: 0,
          maxRetries: Infinity,
          setup: (model: ChannelModel) => broker.connected(model),
        },
      });
    } catch (error) {
      throw brokerUnavailableError('RabbitMQ', error);
    }
    broker.connection.on('disconnect', (error: Error) => broker.disconnected(error));
    broker.connection.on('error', (error: Error) => (broker.lastError = error));
    // A memory or disk alarm: RabbitMQ stops reading what publishers send until it clears.
    broker.connection.on('blocked', (reason: string) => broker.publisher.setBlocked(reason));
    broker.connection.on('unblocked', () => broker.publisher.setBlocked(undefined));
    return broker;
  }

  async publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    if (this.closed) throw brokerClosedError('RabbitMQ');
    return this.publisher.publish(topic, messages);
  }

  async consume(options: ConsumeOptions): Promise<BrokerConsumer> {
    if (this.closed) throw brokerClosedError('RabbitMQ');
    const consumer = new RabbitMqConsumer(options, {
      partitions: this.settings.partitions,
      deliveryLimit: this.settings.deliveryLimit,
      prefetch: this.settings.prefetch,
      declareGroup: (topic, group) =>
        this.declare(`group:${topic}:${group}`, (channel) => declareGroup(channel, { topic, group, partitions: this.settings.partitions, deliveryLimit: this.settings.deliveryLimit })),
      deadLetter: (topic, group, message, error, attempt) => this.deadLetter(topic, group, message, error, attempt),
      onStopped: (stopped) => this.consumers.delete(stopped),
    });
    this.consumers.add(consumer);
    try {
      await consumer.attach(this.current());
    } catch (error) {
      this.consumers.delete(consumer);
      await consumer.stop();
      throw isFactumError(error) ? error : rabbitMqError(error, `consuming ${options.topic}/${options.group}`);
    }
    return consumer;
  }

  deadLetters(topic: string, group: string): BrokerDeadLetters {
    return new RabbitMqDeadLetters(async () => this.current(), topic, group, this.settings.partitions, this.settings.deliveryLimit);
  }

  /**
   * The group's ready messages (see `rabbitMqLag`) and those its consumers in this process hold
   * unacked; other processes' unacked messages AMQP does not show (`countsInFlight: false`).
   */
  async lag(topic: string, group: string): Promise<BrokerLag> {
    if (this.closed) throw brokerClosedError('RabbitMQ');
    const ready = await rabbitMqLag(this.current(), topic, group, this.settings.partitions);
    let held = 0;
    for (const consumer of this.consumers) if (consumer.reads(topic, group)) held += consumer.held();
    return held === 0 ? ready : { messages: ready.messages + held, countsInFlight: false };
  }

  /**
   * Deletes a topic's exchanges and the given groups' queues, messages included: the teardown of
   * tests and demos, never needed in normal operation.
   *
   * @example
   * await broker.deleteTopology('orders', ['billing', 'shipping'])
   */
  async deleteTopology(topic: string, groups: string[]): Promise<void> {
    let channel: Channel | undefined;
    try {
      channel = await this.current().createChannel();
      channel.on('error', () => {});
      await deleteTopology(channel, topic, groups, this.settings.partitions);
    } catch (error) {
      throw isFactumError(error) ? error : rabbitMqError(error, `deleting the topology of ${topic}`);
    } finally {
      await channel?.close().catch(() => {});
    }
    this.declared.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    this.publisher.detach(brokerClosedError('RabbitMQ'));
    await this.connection.close().catch(() => {});
  }

  private current(): ChannelModel {
    if (!this.model) throw brokerUnavailableError('RabbitMQ', this.lastError);
    return this.model;
  }

  /** Runs a declaration once per connection, on a channel of its own: a refused declaration closes only that channel. */
  private declare(name: string, run: (channel: Channel) => Promise<void>): Promise<void> {
    let done = this.declared.get(name);
    if (!done) {
      done = (async () => {
        let channel: Channel | undefined;
        try {
          channel = await this.current().createChannel();
          channel.on('error', () => {});
          await run(channel);
        } catch (error) {
          throw isFactumError(error) ? error : rabbitMqError(error, `declaring ${name}`);
        } finally {
          await channel?.close().catch(() => {});
        }
      })();
      done.catch(() => this.declared.delete(name));
      this.declared.set(name, done);
    }
    return done;
  }

  /** After every (re)connect: a new confirm channel for the publisher, and the consumers resume. */
  private async connected(model: ChannelModel): Promise<void> {
    this.model = model;
    this.declared = new Map();
    const channel = await model.createConfirmChannel();
    this.publisher.attach(channel);
    for (const consumer of this.consumers) await consumer.attach(model);
  }

  private disconnected(error: Error): void {
    this.lastError = error;
    this.model = undefined;
    this.publisher.detach(error);
    for (const consumer of this.consumers) consumer.detach();
  }

  private async deadLetter(topic: string, group: string, message: ConsumeMessage, error: unknown, attempt: number): Promise<void> {
    const reason = deadLetterReason(error);
    const { content, options } = toAmqp(fromAmqp(message), {
      [DEAD_LETTER_HEADERS.error]: reason.error,
      ...(reason.errorCode === undefined ? {} : { [DEAD_LETTER_HEADERS.errorCode]: reason.errorCode }),
      [DEAD_LETTER_HEADERS.attempts]: String(attempt),
      [DEAD_LETTER_HEADERS.deadLetteredAt]: new Date().toISOString(),
    });
    const failure = await this.publisher.send(rabbitMqNames.deadLetterExchange(topic), group, content, { ...options, mandatory: true });
    if (failure !== undefined) throw brokerUnavailableError('RabbitMQ', failure);
  }
}

/**
 * Opens the RabbitMQ broker (`RabbitMqBroker.open`).
 *
 * @example
 * const broker = await openRabbitMqBroker({ url: process.env.AMQP_URL, partitions: 8 })
 */
export function openRabbitMqBroker(options: RabbitMqBrokerOptions = {}): Promise<RabbitMqBroker> {
  return RabbitMqBroker.open(options);
}
