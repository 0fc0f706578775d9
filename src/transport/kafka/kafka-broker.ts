import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { FactumError, isFactumError } from '../../core/errors.js';
import { loadDriver } from '../../store/load-driver.js';
import type { Broker, BrokerCapabilities, BrokerConsumer, BrokerDeadLetters, BrokerLag, ConsumeOptions } from '../broker.js';
import { brokerClosedError, brokerUnavailableError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { KafkaConsumer } from './kafka-consumer.js';
import { DeadLetterReader, KafkaDeadLetters, deadLetterRecord, readerGroupId } from './kafka-dead-letters.js';
import { kafkaError } from './kafka-errors.js';
import { kafkaLag } from './kafka-lag.js';
import { KafkaPublisher } from './kafka-publisher.js';
import { ensureTopic, kafkaNames } from './kafka-topology.js';

/**
 * Options of the Kafka broker. Publishers and consumers of one topic must agree on `partitions`
 * (the publisher picks the partition by the key's hash).
 */
export interface KafkaBrokerOptions {
  /** Bootstrap servers, `host:port`; `['127.0.0.1:9092']` by default. */
  brokers?: string[];
  /** The client id Kafka logs and quotas see; `factum` by default. */
  clientId?: string;
  /** Partitions of the topics it creates (and expects of those that exist); 4 by default. */
  partitions?: number;
  /** Records a batch handler gets at most at once, per partition; 16 by default. */
  prefetch?: number;
  /** Deliveries of one message before it is dead-lettered; 20 by default. */
  deliveryLimit?: number;
  /** Largest message (body + headers) a publish accepts; 1 MB by default (Kafka's own `message.max.bytes`). */
  maxMessageBytes?: number;
  /**
   * The idempotent producer (a producer id and sequence numbers, so that a retried request is not
   * written twice); true by default. kafkajs asks the cluster's controller for the producer id,
   * which librdkafka's mock cluster does not name: against the mock it must be false.
   */
  idempotent?: boolean;
  /** A member that sends no heartbeat for this long leaves the group and its partitions move; 10 s by default. */
  sessionTimeoutMs?: number;
  /** Retries of a failed request before a publish is `unavailable` (backoff 100 ms growing to 1 s); 5 by default. */
  retries?: number;
  /**
   * How long a consumer's fetch that finds no new record waits at the broker for one; 100 ms by
   * default. Kafka answers as soon as a record arrives, so there the wait costs no latency, only
   * fewer idle requests. librdkafka's mock cluster holds a fetch that found nothing for the whole
   * wait, so against it this is the delay of a record published just after an empty fetch.
   */
  fetchWaitMs?: number;
}

type Settings = Required<Omit<KafkaBrokerOptions, 'brokers' | 'clientId'>>;

/**
 * The `Broker` port on Kafka through `kafkajs` (an optional peer dependency): acks=all with the
 * idempotent producer, the key's hash picking the partition, consumer groups (Kafka gives one
 * member each partition, hence per-key order across competing consumers), offsets committed
 * only after a message is settled, attempts kept in the commits, and a dead-letter topic per
 * topic and group. A group's first consumer creates the topic; publishing to a topic no group
 * consumes is refused as unroutable.
 *
 * @example
 * const broker = await openKafkaBroker({ brokers: ['127.0.0.1:9092'] })
 * await broker.consume({ topic: 'orders', group: 'billing', handler: async (d) => { await bill(d.message); await d.ack() } })
 * await broker.publish('orders', events.map(eventToMessage))
 */
export class KafkaBroker implements Broker {
  readonly capabilities: BrokerCapabilities;
  /** `messaging.system` of its spans. */
  readonly system = 'kafka';
  private readonly consumers = new Set<KafkaConsumer>();
  private readonly readers = new Map<string, DeadLetterReader>();
  private readonly declared = new Map<string, Promise<void>>();
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly publisher: KafkaPublisher,
    private readonly settings: Settings,
  ) {
    this.capabilities = { nativeDelayedRetry: false, dedupeByMessageId: false, partitions: settings.partitions, maxMessageBytes: settings.maxMessageBytes };
  }

  /** Connects (failing with `BROKER_UNAVAILABLE` when Kafka cannot be reached, `DRIVER_MISSING` without kafkajs). */
  static async open(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
    const settings = validated(options);
    const { Kafka, logLevel } = await loadDriver(() => import('kafkajs'), 'kafkajs', 'The Kafka broker');
    const kafka = new Kafka({
      clientId: options.clientId ?? 'factum',
      brokers: options.brokers ?? ['127.0.0.1:9092'],
      // Failures reach the caller as results and FactumErrors; kafkajs' own log would say it twice.
      logLevel: logLevel.NOTHING,
      retry: { retries: settings.retries, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    // One request in flight per broker: a retried request cannot overtake the next one.
    const producer = kafka.producer({ idempotent: settings.idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await admin.connect();
      await producer.connect();
    } catch (error) {
      await Promise.all([producer.disconnect().catch(() => {}), admin.disconnect().catch(() => {})]);
      throw brokerUnavailableError('Kafka', error);
    }
    const publisher = new KafkaPublisher(producer, admin, { partitions: settings.partitions, maxMessageBytes: settings.maxMessageBytes });
    return new KafkaBroker(kafka, admin, producer, publisher, settings);
  }

  async publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    if (this.closed) throw brokerClosedError('Kafka');
    return this.publisher.publish(topic, messages);
  }

  async consume(options: ConsumeOptions): Promise<BrokerConsumer> {
    if (this.closed) throw brokerClosedError('Kafka');
    await this.declare(options.topic, this.settings.partitions);
    await this.declare(kafkaNames.deadLetterTopic(options.topic, options.group), 'any');
    const heartbeatIntervalMs = Math.max(100, Math.floor(this.settings.sessionTimeoutMs / 3));
    const client = this.kafka.consumer({
      groupId: kafkaNames.groupId(options.topic, options.group),
      sessionTimeout: this.settings.sessionTimeoutMs,
      rebalanceTimeout: this.settings.sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.settings.fetchWaitMs,
    });
    const consumer = new KafkaConsumer(client, this.admin, options, {
      partitions: this.settings.partitions,
      deliveryLimit: this.settings.deliveryLimit,
      prefetch: this.settings.prefetch,
      heartbeatIntervalMs,
      deadLetter: (message, error, attempt) => this.publisher.sendRecords(kafkaNames.deadLetterTopic(options.topic, options.group), [deadLetterRecord(message, error, attempt)]),
      onStopped: (stopped) => this.consumers.delete(stopped),
    });
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.stop();
      throw kafkaError(error, `consuming ${options.topic}/${options.group}`);
    }
    return consumer;
  }

  deadLetters(topic: string, group: string): BrokerDeadLetters {
    return new KafkaDeadLetters(
      {
        admin: this.admin,
        partitions: this.settings.partitions,
        reader: (deadLetterTopic) => this.reader(deadLetterTopic),
        send: (to: string, records: Message[]) => this.publisher.sendRecords(to, records),
      },
      topic,
      group,
    );
  }

  /** Records past the group's committed offsets, handed-out ones included: see `kafkaLag`. */
  async lag(topic: string, group: string): Promise<BrokerLag> {
    if (this.closed) throw brokerClosedError('Kafka');
    return kafkaLag(this.admin, topic, group);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    await Promise.all([...this.readers.values()].map((reader) => reader.close()));
    await Promise.all([this.producer.disconnect().catch(() => {}), this.admin.disconnect().catch(() => {})]);
  }

  private reader(deadLetterTopic: string): DeadLetterReader {
    if (this.closed) throw brokerClosedError('Kafka');
    let reader = this.readers.get(deadLetterTopic);
    if (!reader) {
      const client = this.kafka.consumer({ groupId: readerGroupId(deadLetterTopic), maxWaitTimeInMs: this.settings.fetchWaitMs, allowAutoTopicCreation: false });
      this.readers.set(deadLetterTopic, (reader = new DeadLetterReader(client, this.admin, deadLetterTopic)));
    }
    return reader;
  }

  /** Creates a topic once per broker instance (and again after a failure). */
  private declare(topic: string, partitions: number | 'any'): Promise<void> {
    let done = this.declared.get(topic);
    if (!done) {
      done = ensureTopic(this.admin, topic, partitions).catch((error: unknown) => {
        this.declared.delete(topic);
        throw isFactumError(error) ? error : kafkaError(error, `creating topic ${topic}`);
      });
      this.declared.set(topic, done);
    }
    return done;
  }
}

function validated(options: KafkaBrokerOptions): Settings {
  for (const name of ['partitions', 'prefetch', 'deliveryLimit', 'maxMessageBytes', 'sessionTimeoutMs', 'fetchWaitMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new FactumError('INVALID_ARGUMENT', `Kafka broker option ${name} must be a whole number of at least 1, not ${value}`, { details: { option: name, value } });
    }
  }
  if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0)) {
    throw new FactumError('INVALID_ARGUMENT', `Kafka broker option retries must be a whole number of at least 0, not ${options.retries}`, { details: { option: 'retries', value: options.retries } });
  }
  if (options.idempotent !== false && options.retries === 0) {
    throw new FactumError('INVALID_ARGUMENT', 'Kafka broker option retries must be at least 1 with the idempotent producer (it relies on retries)', { details: { option: 'retries', value: 0 } });
  }
  return {
    partitions: options.partitions ?? 4,
    prefetch: options.prefetch ?? 16,
    deliveryLimit: options.deliveryLimit ?? 20,
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
    idempotent: options.idempotent ?? true,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
    retries: options.retries ?? 5,
    fetchWaitMs: options.fetchWaitMs ?? 100,
  };
}

/**
 * Opens the Kafka broker (`KafkaBroker.open`).
 *
 * @example
 * const broker = await openKafkaBroker({ brokers: process.env.KAFKA_BROKERS!.split(','), partitions: 8 })
 */
export function openKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  return KafkaBroker.open(options);
}
