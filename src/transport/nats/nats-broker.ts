import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { FactumError } from '../../core/errors.js';
import { retryDelays, type RetryPolicy } from '../../core/retry-policy.js';
import { sleep } from '../../core/sleep.js';
import { loadDriver } from '../../store/load-driver.js';
import type { Broker, BrokerCapabilities, BrokerConsumer, BrokerDeadLetters, BrokerLag, ConsumeOptions } from '../broker.js';
import { brokerClosedError, brokerUnavailableError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { NatsConsumer } from './nats-consumer.js';
import { PartitionLeases } from './nats-partition-lease.js';
import { NatsDeadLetters, deadLetterHeaders } from './nats-dead-letters.js';
import { isTimeout, natsError, jetStreamErrorCode } from './nats-errors.js';
import { natsLag } from './nats-lag.js';
import { NatsPublisher } from './nats-publisher.js';
import { ensureStream, natsNames } from './nats-topology.js';

/**
 * Options of the NATS JetStream broker. Publishers and consumers of one topic must agree on
 * `partitions` (the publisher picks the subject `<topic>.<partition>` by the key's hash).
 */
export interface NatsBrokerOptions {
  /**
   * Server URLs; `['nats://127.0.0.1:4222']` by default. Give every node of a cluster: the client
   * reconnects to another one when its server dies, from this list and from what the cluster gossips.
   */
  servers?: string[];
  /** The connection's name in the server's monitoring (`/connz`), to tell a relay's connection from a consumer's. */
  name?: string;
  /**
   * Copies of each stream JetStream keeps (`num_replicas`), for the streams this broker creates:
   * 1 by default; 3 on a three-node cluster, so that a node's death loses nothing and the stream
   * elects a new leader. A stream that exists keeps its setting.
   */
  replicas?: number;
  /** Ordered lanes per topic (subjects `<topic>.0` ... ); 4 by default. */
  partitions?: number;
  /** Messages a batch handler gets at most at once, per partition; 16 by default. */
  prefetch?: number;
  /** Deliveries of one message before it is dead-lettered; 20 by default. */
  deliveryLimit?: number;
  /** Largest message (body + headers) a publish accepts; 1 MB by default (the server's `max_payload`). */
  maxMessageBytes?: number;
  /** A message out longer than this without an ack or a sign of life goes to another consumer; 30 s by default. */
  ackWaitMs?: number;
  /** The streams' `duplicate_window`: a message id seen again within it is stored once; 2 minutes by default. */
  duplicateWindowMs?: number;
  /** PubAcks awaited at once, over overlapping publish calls; 256 by default. */
  publishWindow?: number;
  /** How long a publish waits for its PubAck before it is `unavailable`; 5 s by default. */
  publishTimeoutMs?: number;
}

type Settings = Required<Omit<NatsBrokerOptions, 'servers' | 'name'>>;

/**
 * The `Broker` port on NATS JetStream through `@nats-io/transport-node` and `@nats-io/jetstream`
 * (optional peer dependencies): a stream per topic capturing `<topic>.<partition>`, a PubAck
 * awaited per message with `Nats-Msg-Id` = the message id (duplicates within the window are
 * dropped by the server), a durable pull consumer per group and partition acked explicitly after
 * the handler settles, retries as `nak(delay)`, and a dead-letter stream per topic and group. A
 * group's first consumer creates the stream; publishing to a topic no group consumes is refused
 * as unroutable.
 *
 * @example
 * const broker = await openNatsBroker({ servers: ['nats://127.0.0.1:4222'] })
 * await broker.consume({ topic: 'orders', group: 'billing', handler: async (d) => { await bill(d.message); await d.ack() } })
 * await broker.publish('orders', events.map(eventToMessage))
 */
export class NatsBroker implements Broker {
  readonly capabilities: BrokerCapabilities & { dedupeWindowMs: number };
  /** `messaging.system` of its spans. */
  readonly system = 'nats';
  private readonly consumers = new Set<NatsConsumer>();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly publisher: NatsPublisher,
    private readonly settings: Settings,
  ) {
    this.capabilities = {
      nativeDelayedRetry: true,
      dedupeByMessageId: true,
      dedupeWindowMs: settings.duplicateWindowMs,
      partitions: settings.partitions,
      maxMessageBytes: settings.maxMessageBytes,
    };
  }

  /** Connects (failing with `BROKER_UNAVAILABLE` when NATS cannot be reached, `DRIVER_MISSING` without the client). */
  static async open(options: NatsBrokerOptions = {}): Promise<NatsBroker> {
    const settings = validated(options);
    const { connect, MsgHdrsImpl } = await loadDriver(() => import('@nats-io/transport-node'), '@nats-io/transport-node', 'The NATS broker');
    const { jetstream, jetstreamManager } = await loadDriver(() => import('@nats-io/jetstream'), '@nats-io/jetstream', 'The NATS broker');
    let nc: NatsConnection;
    try {
      // Reconnects for as long as the broker is open: publishes meanwhile are `unavailable` results.
      nc = await connect({
        servers: options.servers ?? ['nats://127.0.0.1:4222'],
        ...(options.name === undefined ? {} : { name: options.name }),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 200,
        // Otherwise nats.js builds two Errors per request (for a stack of the caller) up front: a quarter of a
        // relay's CPU. Its errors reach users wrapped in a FactumError with the cause, the call site is in that one's stack.
        noAsyncTraces: true,
      });
    } catch (error) {
      throw brokerUnavailableError('NATS', error);
    }
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const publisher = new NatsPublisher(js, jsm, (record) => MsgHdrsImpl.fromRecord(record), {
        partitions: settings.partitions,
        maxMessageBytes: settings.maxMessageBytes,
        window: settings.publishWindow,
        timeoutMs: settings.publishTimeoutMs,
      });
      return new NatsBroker(nc, js, jsm, publisher, settings);
    } catch (error) {
      await nc.close().catch(() => {});
      throw natsError(error, 'opening JetStream');
    }
  }

  async publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    if (this.closed) throw brokerClosedError('NATS');
    return this.publisher.publish(topic, messages);
  }

  async consume(options: ConsumeOptions): Promise<BrokerConsumer> {
    if (this.closed) throw brokerClosedError('NATS');
    const { topic, group } = options;
    const stream = { duplicateWindowMs: this.settings.duplicateWindowMs, replicas: this.settings.replicas };
    const maxAckPending = options.batchHandler ? (options.prefetch ?? this.settings.prefetch) : 1;
    const { ackWaitMs, leases } = await againAfterTimeouts(async () => {
      await ensureStream(this.jsm, natsNames.stream(topic), [`${topic}.*`], stream);
      await ensureStream(this.jsm, natsNames.deadLetterStream(topic, group), [natsNames.deadLetterSubject(topic, group)], stream);
      for (let p = 0; p < this.settings.partitions; p++) await this.ensureConsumer(topic, group, p, maxAckPending);
      const ackWaitMs = await this.ackWaitOf(topic, group);
      return { ackWaitMs, leases: await PartitionLeases.open(this.js, this.jsm, topic, group, ackWaitMs, this.settings.replicas) };
    });
    const consumer = new NatsConsumer(this.js, options, {
      partitions: this.settings.partitions,
      deliveryLimit: this.settings.deliveryLimit,
      prefetch: options.prefetch ?? this.settings.prefetch,
      ackWaitMs,
      deadLetter: (message, error, attempt) =>
        this.publisher.sendRaw(natsNames.deadLetterSubject(topic, group), message, `${message.id}:dead:${attempt}:${Date.now()}`, deadLetterHeaders(error, attempt)),
      onStopped: (stopped) => this.consumers.delete(stopped),
      leases,
    });
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.stop();
      throw natsError(error, `consuming ${topic}/${group}`);
    }
    return consumer;
  }

  deadLetters(topic: string, group: string): BrokerDeadLetters {
    return new NatsDeadLetters({ jsm: this.jsm, partitions: this.settings.partitions, send: (subject, message, msgID, extra) => this.publisher.sendRaw(subject, message, msgID, extra) }, topic, group);
  }

  /** Unsettled messages over the group's partition consumers, in flight included: see `natsLag`. */
  async lag(topic: string, group: string): Promise<BrokerLag> {
    if (this.closed) throw brokerClosedError('NATS');
    return natsLag(this.jsm, topic, group, this.settings.partitions);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    await this.nc.drain().catch(() => this.nc.close().catch(() => {}));
  }

  /**
   * The ack wait of the group's durables as the server has it (the first consumer of the group set
   * it): every process derives the same lease from it.
   */
  private async ackWaitOf(topic: string, group: string): Promise<number> {
    try {
      const info = await this.jsm.consumers.info(natsNames.stream(topic), natsNames.consumer(group, 0));
      return Math.max(1, Math.round((info.config.ack_wait ?? this.settings.ackWaitMs * 1_000_000) / 1_000_000));
    } catch (error) {
      throw natsError(error, `reading consumer ${natsNames.consumer(group, 0)} on ${topic}`);
    }
  }

  /**
   * The group's durable consumer of one partition. `max_ack_pending` is what holds the key's
   * order: with a handler, one message of the partition is out at a time, whichever process holds
   * it; `max_deliver` is left unbounded because factum dead-letters past `deliveryLimit` itself
   * (JetStream would only stop delivering, with an advisory nobody reads).
   */
  private async ensureConsumer(topic: string, group: string, partition: number, maxAckPending: number): Promise<void> {
    const config = {
      durable_name: natsNames.consumer(group, partition),
      filter_subject: natsNames.subject(topic, partition),
      ack_policy: 'explicit' as const,
      deliver_policy: 'all' as const,
      ack_wait: this.settings.ackWaitMs * 1_000_000,
      max_ack_pending: maxAckPending,
      max_deliver: -1,
    };
    try {
      await this.jsm.consumers.add(natsNames.stream(topic), config);
    } catch (error) {
      // It exists with other settings (another consumer's prefetch): keep it as it is.
      if (jetStreamErrorCode(error) === 10148 || jetStreamErrorCode(error) === 10013) return;
      throw natsError(error, `creating consumer ${config.durable_name} on ${topic}`);
    }
  }
}

/** Two more tries of topology work after JetStream timeouts, about 0.5 s and 1 s later. */
const TOPOLOGY_RETRIES: RetryPolicy = { immediateRetries: 0, backoffRetries: 2, initialDelayMs: 500, factor: 2, jitter: 0.5 };

/**
 * Runs topology work (idempotent: it creates what is missing) again when JetStream did not answer
 * in time: on a cluster, API requests time out while a meta leader is elected or the cluster is
 * busy creating replicated streams, and succeed a moment later.
 */
async function againAfterTimeouts<T>(work: () => Promise<T>): Promise<T> {
  const delays = retryDelays(TOPOLOGY_RETRIES);
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= delays.length || !isTimeout(error)) throw error;
      await sleep(delays[attempt]!);
    }
  }
}

function validated(options: NatsBrokerOptions): Settings {
  for (const name of ['partitions', 'replicas', 'prefetch', 'deliveryLimit', 'maxMessageBytes', 'ackWaitMs', 'duplicateWindowMs', 'publishWindow', 'publishTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new FactumError('INVALID_ARGUMENT', `NATS broker option ${name} must be a whole number of at least 1, not ${value}`, { details: { option: name, value } });
    }
  }
  return {
    partitions: options.partitions ?? 4,
    replicas: options.replicas ?? 1,
    prefetch: options.prefetch ?? 16,
    deliveryLimit: options.deliveryLimit ?? 20,
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
    ackWaitMs: options.ackWaitMs ?? 30_000,
    duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
    publishWindow: options.publishWindow ?? 256,
    publishTimeoutMs: options.publishTimeoutMs ?? 5000,
  };
}

/**
 * Opens the NATS JetStream broker (`NatsBroker.open`).
 *
 * @example
 * const broker = await openNatsBroker({ servers: [process.env.NATS_URL!], partitions: 8 })
 */
export function openNatsBroker(options: NatsBrokerOptions = {}): Promise<NatsBroker> {
  return NatsBroker.open(options);
}
