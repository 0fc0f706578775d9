import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { retryDelays, type RetryPolicy } from '../../core/retry-policy.js';
import { consumerStorageFor, type ConsumerStorage } from '../../consumers/consumer-storage.js';
import type { EventRegistry } from '../../schema/event-registry.js';
import { eventRegistryOf } from '../../schema/registered-event-store.js';
import type { Broker, BrokerConsumer, BrokerDeadLetter, BrokerDeadLetters, Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { deadLetterReason } from '../dead-letter-reason.js';
import { ConsumerHandlerContext, storelessWrites, type EventConsumerContext } from './event-consumer-context.js';
import { handleInInbox } from './handle-in-inbox.js';
import { readMessageEvent } from './read-message-event.js';

/** Handles one event from the broker. Throwing means "failed": the retry policy, then the dead letters, take over. */
export type EventConsumerHandler = (event: RecordedEvent, context: EventConsumerContext) => Promise<void> | void;

/** Options of `EventConsumer`. */
export interface EventConsumerOptions {
  /** Names the inbox rows (and the group by default); stable across restarts and processes. */
  name: string;
  broker: Broker;
  /** What the producer publishes to (the relay's destination). */
  topic: string;
  /** Consumers sharing the work; every group gets each message once. `name` by default. */
  group?: string;
  /**
   * With a store, each message is handled in one store transaction with its inbox row, the
   * handler's `context.sql` and its `context.append`, and acked only after the commit: a
   * duplicate is acked without running the handler. Without one, delivery is at-least-once.
   */
  store?: EventStore;
  /** Validates and upcasts each message; the store's registry (a wrapped store) by default. */
  registry?: EventRegistry;
  /** Retries of a failing handler before its message is dead-lettered; `DEFAULT_RETRY_POLICY` by default. */
  retry?: RetryPolicy;
  /** Unacknowledged messages held per partition (the broker's default when absent). */
  prefetch?: number;
  handler: EventConsumerHandler;
  /** Told of every failure that does not stop the consumer: a failed attempt, a dead letter, a failed ack. */
  onError?: (error: unknown, message: BrokerMessage) => void;
}

/** The latest failure of an `EventConsumer`, and what became of its message. */
export interface EventConsumerFailure {
  messageId: string;
  key: string;
  attempt: number;
  error: string;
  errorCode?: string;
  /** `'retry'`: delivered again after `delayMs`; `'dead-letter'`: parked with the error. */
  outcome: 'retry' | 'dead-letter';
  delayMs?: number;
  at: Date;
}

/** Where an `EventConsumer` stands; the counts are since `start()` in this process. */
export interface EventConsumerStatus {
  name: string;
  topic: string;
  group: string;
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  /** Handlers running now. */
  inFlight: number;
  /** Messages whose handler ran and committed (and were then acked). */
  handled: number;
  /** Messages the inbox had seen: acked without running the handler. */
  duplicates: number;
  /** Failed attempts sent back for a retry (on its last allowed attempt the broker dead-letters it instead). */
  retried: number;
  /** Messages this consumer dead-lettered (failed every retry, or unreadable). */
  deadLettered: number;
  lastFailure?: EventConsumerFailure;
}

/**
 * Consumes factum events from a broker in another service: each message is read from its
 * envelope, validated and upcast with the registry, and handled, with a store, in one
 * transaction with its inbox row (message id + consumer name), so a relay's re-publish or a
 * broker's redelivery has its effect once; the ack follows the commit.
 *
 * A failing handler is retried with the `RetryPolicy`'s delays through the broker
 * (`delivery.retry`): the key's later messages wait behind it (the broker's lanes keep per-key
 * order), the other lanes flow. After the last retry the message becomes a dead letter with its
 * error, listed, retried and skipped through `deadLetters`, `retryDeadLetter`, `skipDeadLetter`.
 * A message that no retry can fix (not a factum event, data its schema refuses, a version newer
 * than this code knows) is dead-lettered at once, and the consumer goes on.
 *
 * @example
 * const billing = new EventConsumer({
 *   name: 'billing', broker, topic: 'order', store, registry,
 *   handler: async (event, context) => {
 *     await context.sql!.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.streamId])
 *   },
 * })
 * await billing.start()
 * console.log(billing.status().handled)
 * await billing.stop()
 */
export class EventConsumer {
  readonly name: string;
  readonly topic: string;
  readonly group: string;
  private readonly storage?: ConsumerStorage;
  private readonly registry?: EventRegistry;
  private consumer?: BrokerConsumer;
  private state: EventConsumerStatus['state'] = 'idle';
  private readonly counts = { inFlight: 0, handled: 0, duplicates: 0, retried: 0, deadLettered: 0 };
  private lastFailure?: EventConsumerFailure;

  constructor(private readonly options: EventConsumerOptions) {
    if (!options.name) throw new FactumError('INVALID_ARGUMENT', 'An EventConsumer needs a name (it names its inbox rows)');
    if (!options.topic) throw new FactumError('INVALID_ARGUMENT', `EventConsumer "${options.name}" needs a topic`);
    this.name = options.name;
    this.topic = options.topic;
    this.group = options.group ?? options.name;
    // Checked now, so that a bad policy fails at construction and not at the first failure.
    retryDelays(options.retry);
    if (options.store) this.storage = consumerStorageFor(options.store);
    const registry = options.registry ?? (options.store ? eventRegistryOf(options.store) : undefined);
    if (registry) this.registry = registry;
  }

  /** Declares the group where the broker needs it and starts consuming; resolves once running. */
  async start(): Promise<this> {
    if (this.state === 'running') return this;
    if (this.state === 'stopping') throw new FactumError('INVALID_ARGUMENT', `EventConsumer "${this.name}" is stopping`);
    this.consumer = await this.options.broker.consume({
      topic: this.topic,
      group: this.group,
      handler: (delivery) => this.onDelivery(delivery),
      ...(this.options.prefetch === undefined ? {} : { prefetch: this.options.prefetch }),
    });
    this.state = 'running';
    return this;
  }

  /** Takes no new message, lets the handlers in flight finish (commit and ack), then resolves. */
  async stop(): Promise<void> {
    if (!this.consumer) return;
    this.state = 'stopping';
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer.stop();
    this.state = 'stopped';
  }

  status(): EventConsumerStatus {
    return {
      name: this.name,
      topic: this.topic,
      group: this.group,
      state: this.state,
      ...this.counts,
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    };
  }

  /** The group's dead letters, each with its error and attempts. */
  deadLetters(): Promise<BrokerDeadLetter[]> {
    return this.letters().list();
  }

  /** Publishes the dead letter to the group again (from attempt 1, after its key's messages so far). */
  retryDeadLetter(messageId: string): Promise<void> {
    return this.letters().retry(messageId);
  }

  /** Drops the dead letter for good, unhandled. */
  skipDeadLetter(messageId: string): Promise<void> {
    return this.letters().skip(messageId);
  }

  private letters(): BrokerDeadLetters {
    return this.options.broker.deadLetters(this.topic, this.group);
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    this.counts.inFlight++;
    try {
      let event: RecordedEvent;
      try {
        event = await readMessageEvent(delivery.message, this.registry);
      } catch (error) {
        // No retry can make it readable: parked now, and the key's next message goes on.
        return await this.failed(delivery, error, undefined);
      }
      let handled: boolean;
      try {
        handled = await this.handle(event, delivery);
      } catch (error) {
        return await this.failed(delivery, error, retryDelays(this.options.retry)[delivery.attempt - 1]);
      }
      // Only now: a crash before this line leaves a committed inbox row, which absorbs the redelivery.
      await delivery.ack();
      this.counts[handled ? 'handled' : 'duplicates']++;
    } catch (error) {
      // A broker that went away while settling: the message comes again, and the inbox knows it.
      this.options.onError?.(error, delivery.message);
    } finally {
      this.counts.inFlight--;
    }
  }

  /** Runs the handler, in the inbox's transaction when there is a store; false for a duplicate. */
  private async handle(event: RecordedEvent, delivery: Delivery): Promise<boolean> {
    const { store, handler } = this.options;
    if (!store || !this.storage) {
      const writes = storelessWrites();
      try {
        await handler(event, new ConsumerHandlerContext(undefined, this.name, delivery, writes, undefined));
      } catch (error) {
        writes.settle(false);
        throw error;
      }
      writes.settle(true);
      return true;
    }
    return handleInInbox(this.storage, store, this.name, delivery.message.id, event, (writes, sql) =>
      handler(event, new ConsumerHandlerContext(store, this.name, delivery, writes, sql)),
    );
  }

  /** A retry after `delayMs`, or (none left, or unreadable) a dead letter with the error. */
  private async failed(delivery: Delivery, error: unknown, delayMs: number | undefined): Promise<void> {
    const outcome = delayMs === undefined ? 'dead-letter' : 'retry';
    const { message } = delivery;
    this.lastFailure = {
      messageId: message.id,
      key: message.key,
      attempt: delivery.attempt,
      ...deadLetterReason(error),
      outcome,
      ...(delayMs === undefined ? {} : { delayMs }),
      at: new Date(),
    };
    this.options.onError?.(error, message);
    if (delayMs === undefined) {
      await delivery.deadLetter(error);
      this.counts.deadLettered++;
    } else {
      await delivery.retry(delayMs, error);
      this.counts.retried++;
    }
  }
}
