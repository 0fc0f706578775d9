import type { BrokerMessage, PublishResult } from './broker-message.js';

/**
 * What a broker can do, read by code instead of checking which broker it is.
 *
 * @example
 * if (!broker.capabilities.dedupeByMessageId) console.log('duplicates are absorbed by the consumer inbox')
 */
export interface BrokerCapabilities {
  /** The broker itself redelivers a retried message after a delay; otherwise the consumer holds it for the delay. */
  nativeDelayedRetry: boolean;
  /** The broker drops a message whose id it has seen recently (JetStream's `Nats-Msg-Id`). */
  dedupeByMessageId: boolean;
  /**
   * How long the broker remembers a message id for that dedupe (JetStream's `duplicate_window`),
   * where it has one: the relay refuses to start when its retries outlast it.
   */
  dedupeWindowMs?: number;
  /** Ordered lanes per topic: every message of one key goes to the same one, and lanes run in parallel. */
  partitions: number;
  /** Largest body plus headers, in bytes, that a publish accepts; larger messages are refused as `too_large`. */
  maxMessageBytes: number;
}

/**
 * One message handed to a consumer. Settle it once: `ack` when done, `retry` to have it delivered
 * again later (the key's later messages wait), or `deadLetter` to park it with the error. A
 * handler that returns without settling acks; one that throws retries at once.
 *
 * @example
 * async (delivery) => { try { await apply(delivery.message) ; await delivery.ack() } catch (e) { await delivery.retry(1000) } }
 */
export interface Delivery {
  message: BrokerMessage;
  /** 1 on the first delivery, then +1 for every redelivery (a retry, a consumer that died before its ack). */
  attempt: number;
  /** The partition (ordered lane) it came from, in 0..partitions-1. */
  partition: number;
  ack(): Promise<void>;
  /** Delivers it again after `delayMs`; on its last allowed attempt it is dead-lettered instead, with `error`. */
  retry(delayMs: number, error?: unknown): Promise<void>;
  /** Moves it to the group's dead letters with the error, and lets the key's next message through. */
  deadLetter(error: unknown): Promise<void>;
}

/**
 * Where a consumer reads: a topic (what publishers write to) and a group (consumers sharing the
 * work: each message of the topic reaches every group once, and one consumer within it).
 *
 * @example
 * const consumer = await broker.consume({ topic: 'orders', group: 'billing', prefetch: 16, handler })
 */
export interface ConsumeOptions {
  topic: string;
  group: string;
  handler: (delivery: Delivery) => Promise<void>;
  /**
   * Takes the place of `handler`: a partition's lane hands over every message it holds (up to the
   * prefetch, at least one), in order, and takes nothing else of that partition until it returns.
   * Settle each delivery; unlike `handler`, a delivery left unsettled is not acked: it goes back
   * to the front of its lane, in order, behind a retried one of the batch, and comes in the next
   * batch. A batch handler that throws retries its first unsettled delivery at once with the error.
   */
  batchHandler?: (deliveries: Delivery[]) => Promise<void>;
  /** Unacknowledged messages a consumer holds per partition; bounded, 16 by default. */
  prefetch?: number;
}

/** A running consumer. `stop` takes no new messages, lets the handlers in flight finish, then returns. */
export interface BrokerConsumer {
  stop(): Promise<void>;
}

/**
 * What a group has not finished of a topic, as the broker counts it: the consumer's lag, read
 * from the broker because no store position can measure it.
 *
 * @example
 * const lag = await broker.lag?.('orders', 'billing') // { messages: 120, oldestSeconds: 3.2, countsInFlight: true }
 */
export interface BrokerLag {
  /**
   * Messages of the topic that the group has not settled, over every partition: waiting, waiting
   * for a retry's delay, and (when `countsInFlight`) delivered but not yet acked. Dead letters
   * are not lag.
   */
  messages: number;
  /**
   * Whether `messages` includes what every consumer holds unacked; when not (RabbitMQ: AMQP does
   * not show it), it includes only what the consumers of this broker object hold.
   */
  countsInFlight: boolean;
  /** Age in seconds of the oldest of them, when the broker can tell without taking it; absent otherwise (and 0 with none). */
  oldestSeconds?: number;
}

/** A message that was dead-lettered, with the error that parked it. */
export interface BrokerDeadLetter {
  message: BrokerMessage;
  /** The error's message (`error.message`, or the broker's reason such as `delivery_limit`). */
  error: string;
  /** The error's code when it had one (a `FactumError` or a Node system error). */
  errorCode?: string;
  attempts: number;
  deadLetteredAt: Date;
}

/**
 * The dead letters of one topic and group, handled from code: listed, retried (published to the
 * group again, at the end of its key's order) or skipped (dropped for good).
 *
 * @example
 * for (const letter of await broker.deadLetters('orders', 'billing').list()) console.log(letter.message.id, letter.error)
 */
export interface BrokerDeadLetters {
  list(): Promise<BrokerDeadLetter[]>;
  retry(messageId: string): Promise<void>;
  skip(messageId: string): Promise<void>;
}

/**
 * The port every broker adapter implements (in memory, RabbitMQ; NATS JetStream, Redis Streams
 * and Kafka to come). One contract suite (test/transport/broker-contract.ts) holds them to it.
 *
 * @example
 * const results = await broker.publish('orders', events.map(eventToMessage))
 * if (results.every((r) => r.status === 'confirmed')) await checkpoint.advance()
 */
export interface Broker {
  readonly capabilities: BrokerCapabilities;
  /** Its OpenTelemetry `messaging.system` (`rabbitmq`, `kafka`, `nats`, `redis`): names the relay's publish spans and the consumers' process spans. */
  readonly system?: string;
  /**
   * Publishes a batch and resolves once the broker answered for every message, one result each,
   * in order. Never rejects for a broker failure (that is a result); rejects only when closed.
   * Calls that overlap (a call made before the last one resolved) send in call order: the
   * messages of one key keep the order of the calls, so a publisher may have several batches
   * awaiting their confirms at once (the relay does). Publish a message that came back
   * `unavailable` again before its key's later messages: a broker that may store a later
   * message of a key before a lost earlier one (NATS through a failover, Redis when a call
   * sent after the lost one reaches the server) holds the key, answering its later messages
   * `unavailable` unsent, until that message is published again.
   */
  publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]>;
  /** Declares the group's queues where the broker needs them and starts delivering to `handler`. */
  consume(options: ConsumeOptions): Promise<BrokerConsumer>;
  deadLetters(topic: string, group: string): BrokerDeadLetters;
  /**
   * The group's lag on the topic, read from the broker now (a group never declared has none).
   * Optional: a consumer of a broker without it reports only the messages it holds.
   */
  lag?(topic: string, group: string): Promise<BrokerLag>;
  /** Stops every consumer (gracefully) and closes the connection. */
  close(): Promise<void>;
}
