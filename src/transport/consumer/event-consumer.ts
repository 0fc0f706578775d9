import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { retryDelays, type RetryPolicy } from '../../core/retry-policy.js';
import { consumerStorageFor, type ConsumerStorage, type DeadLetter } from '../../consumers/consumer-storage.js';
import { partitionOf } from '../../consumers/partition-of.js';
import type { EventRegistry } from '../../schema/event-registry.js';
import { eventRegistryOf } from '../../schema/registered-event-store.js';
import type { Broker, BrokerConsumer, BrokerDeadLetters, Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { deadLetterReason } from '../dead-letter-reason.js';
import { eventToMessage, messageToEvent } from '../message-envelope.js';
import { ConsumerDeadLetters, type EventConsumerDeadLetter } from './consumer-dead-letters.js';
import { ConsumerHandlerContext, storelessWrites, type EventConsumerContext } from './event-consumer-context.js';
import { handleBatchInInbox, type BatchItem } from './handle-batch-in-inbox.js';
import { handleInInbox, type InboxHandling } from './handle-in-inbox.js';
import { readMessageEvent, readReceivedEvent } from './read-message-event.js';

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
  /** Messages parked in the store behind a dead letter of their key (with a store only). */
  parked: number;
  /**
   * Keys held behind a dead letter, as this process last saw them (with a store only): its own
   * dead letters and drains, the keys it found blocked, and those in the store at `start()`.
   */
  blockedKeys: string[];
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
 * A message that no retry can fix (data its schema refuses, a version newer than this code
 * knows) is dead-lettered at once.
 *
 * With a store, dead letters are sequenced (per-key order holds through them): the dead letter
 * goes to the store's dead-letter table (subscription `consumer:<name>`, stream id = the key) and
 * blocks its key; the key's later messages are parked there behind it, in order, and acked from
 * the broker, in the transaction that checked the key (under a lock per consumer and key, so a
 * drain in another process never interleaves). The other keys flow. `retryDeadLetter` (or
 * `skipDeadLetter`) drains the key: the dead letter (unless skipped) then the parked messages,
 * each in its own inbox transaction with the removal of its row; a message arriving meanwhile is
 * parked behind them or handled after them. A restart keeps the key blocked.
 *
 * A message that is not a factum event at all (no envelope: nothing to store as an event) goes to
 * the broker's dead letters as without a store and does not block its key: it belongs to no
 * stream whose order it could break. `deadLetters()` lists the store's letters and then those.
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
  private readonly counts = { inFlight: 0, handled: 0, duplicates: 0, retried: 0, deadLettered: 0, parked: 0 };
  /** The sequenced dead letters in the store (with a store only). */
  private readonly sequenced?: ConsumerDeadLetters;
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
    if (this.storage) {
      this.sequenced = new ConsumerDeadLetters(this.storage, this.name, options.retry, {
        isStopping: () => this.state === 'stopping',
        deliver: (letter, attempt, handle) => this.deliverLetter(letter, attempt, handle),
        failed: (letter, error) => {
          this.options.onError?.(error, eventToMessage(letter.event));
          this.noteFailure(eventToMessage(letter.event), letter.attempts, error, letter.status === 'dead' ? 'dead-letter' : 'retry', undefined);
        },
        reportError: (error, event) => this.options.onError?.(error, eventToMessage(event)),
      });
    }
  }

  /** Declares the group where the broker needs it and starts consuming; resolves once running. */
  async start(): Promise<this> {
    if (this.state === 'running') return this;
    if (this.state === 'stopping') throw new FactumError('INVALID_ARGUMENT', `EventConsumer "${this.name}" is stopping`);
    // Before the first message: keys blocked in the store stay blocked (and a drain a crash cut short resumes).
    await this.sequenced?.load();
    this.consumer = await this.options.broker.consume({
      topic: this.topic,
      group: this.group,
      handler: (delivery) => this.onDelivery(delivery),
      // With a store, what a partition holds is handled in one transaction (a savepoint per message that writes).
      ...(this.sequenced ? { batchHandler: (deliveries: Delivery[]) => this.onBatch(deliveries, this.sequenced!) } : {}),
      ...(this.options.prefetch === undefined ? {} : { prefetch: this.options.prefetch }),
    });
    this.state = 'running';
    return this;
  }

  /** Takes no new message, lets the handlers in flight finish (commit and ack), then resolves. */
  async stop(): Promise<void> {
    // A consumer that only drained dead letters (never started) may have a retry armed.
    this.sequenced?.stop();
    if (!this.consumer) return;
    this.state = 'stopping';
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer.stop();
    this.sequenced?.stop();
    this.state = 'stopped';
  }

  status(): EventConsumerStatus {
    return {
      name: this.name,
      topic: this.topic,
      group: this.group,
      state: this.state,
      ...this.counts,
      blockedKeys: this.sequenced?.blockedKeys() ?? [],
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    };
  }

  /**
   * The dead letters, each with its error and attempts. With a store: the store's letters (dead,
   * and the messages parked behind them, in key order), then the broker's (messages that are no
   * factum event); without one, the broker's.
   */
  async deadLetters(): Promise<EventConsumerDeadLetter[]> {
    const stored = this.sequenced ? await this.sequenced.list() : [];
    const broker = (await this.letters().list()).map((letter) => ({ ...letter, status: 'dead' as const, key: letter.message.key }));
    return [...stored, ...broker];
  }

  /**
   * With a store: handles the dead letter (in its inbox transaction), then the messages parked
   * behind it, in order, and unblocks the key; one that fails again is the key's dead letter
   * now. Without a store (or for a message that is no factum event): publishes it to the group
   * again, from attempt 1, after its key's messages so far. `DEAD_LETTER_NOT_FOUND` when it is
   * neither.
   */
  async retryDeadLetter(messageId: string): Promise<void> {
    if (this.sequenced && (await this.sequenced.has(messageId))) await this.sequenced.retry(messageId, false);
    else await this.letters().retry(messageId);
  }

  /** Drops the dead letter for good, unhandled (with a store: then drains its key's parked messages, as `retryDeadLetter`). */
  async skipDeadLetter(messageId: string): Promise<void> {
    if (this.sequenced && (await this.sequenced.has(messageId))) await this.sequenced.retry(messageId, true);
    else await this.letters().skip(messageId);
  }

  private letters(): BrokerDeadLetters {
    return this.options.broker.deadLetters(this.topic, this.group);
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    this.counts.inFlight++;
    try {
      if (this.sequenced) return await this.onStoredDelivery(delivery, this.sequenced);
      let event: RecordedEvent;
      try {
        event = await readMessageEvent(delivery.message, this.registry);
      } catch (error) {
        // No retry can make it readable: parked now, and the key's next message goes on.
        return await this.failed(delivery, error, undefined);
      }
      try {
        await this.handle(event, delivery);
      } catch (error) {
        return await this.failed(delivery, error, retryDelays(this.options.retry)[delivery.attempt - 1]);
      }
      await delivery.ack();
      this.counts.handled++;
    } catch (error) {
      // A broker that went away while settling: the message comes again (and with a store, the inbox knows it).
      this.options.onError?.(error, delivery.message);
    } finally {
      this.counts.inFlight--;
    }
  }

  /**
   * With a store, a partition's messages at once: runs of readable events each in one transaction
   * (`handleBatchInInbox`: the keys checked with one query, a savepoint per handler that writes),
   * acked after its commit. A message whose handler fails goes to a retry (or becomes its key's
   * dead letter) after the messages before it committed; those after it are left unsettled, so
   * the broker's lane hands them over again behind it. A message that is not a readable event is
   * handled alone, between the runs.
   */
  private async onBatch(deliveries: Delivery[], sequenced: ConsumerDeadLetters): Promise<void> {
    this.counts.inFlight += deliveries.length;
    try {
      let i = 0;
      while (i < deliveries.length) {
        const run: Array<{ delivery: Delivery; item: BatchItem; received: RecordedEvent }> = [];
        for (; i < deliveries.length; i++) {
          const delivery = deliveries[i]!;
          const read = await this.tryRead(delivery.message);
          if (!read) break;
          run.push({ delivery, received: read.received, item: { messageId: delivery.message.id, key: read.received.streamId, event: read.event } });
        }
        if (run.length > 0 && !(await this.commitRun(run, sequenced))) return;
        if (i < deliveries.length) {
          await this.onStoredDelivery(deliveries[i]!, sequenced);
          i++;
        }
      }
    } catch (error) {
      // A broker that went away while settling: the messages come again, and the inbox knows them.
      this.options.onError?.(error, deliveries[0]!.message);
    } finally {
      this.counts.inFlight -= deliveries.length;
    }
  }

  /** The event a message carries, readable now; undefined for one that is not (it goes the single way). */
  private async tryRead(message: BrokerMessage): Promise<{ received: RecordedEvent; event: RecordedEvent } | undefined> {
    try {
      const received = messageToEvent(message);
      return { received, event: await readReceivedEvent(received, this.registry) };
    } catch {
      return undefined;
    }
  }

  /** One run of a batch in one transaction; false when the batch must end here (a failure, or a transaction cut short). */
  private async commitRun(run: Array<{ delivery: Delivery; item: BatchItem; received: RecordedEvent }>, sequenced: ConsumerDeadLetters): Promise<boolean> {
    const store = this.options.store!;
    let handling;
    try {
      handling = await handleBatchInInbox(
        this.storage!,
        store,
        this.name,
        run.map((r) => r.item),
        { admit: (tx, messages) => sequenced.admit(tx, this.name, messages), park: (tx, item) => sequenced.park(tx, run.find((r) => r.item === item)!.received) },
        (item, writes, sql) => {
          const delivery = run.find((r) => r.item === item)!.delivery;
          return this.options.handler(item.event, new ConsumerHandlerContext(store, this.name, delivery, writes, sql));
        },
      );
    } catch {
      // Nothing of the run was written (a failed commit, a lost connection): its first message goes
      // the single way, which retries it (and dead-letters it in the end); the rest come again.
      await this.onStoredDelivery(run[0]!.delivery, sequenced);
      return false;
    }
    const { outcomes, failure } = handling;
    for (const [j, outcome] of outcomes.entries()) {
      await run[j]!.delivery.ack();
      this.counts[outcome === 'duplicate' ? 'duplicates' : outcome]++;
    }
    if (failure) {
      const { delivery, received } = run[failure.index]!;
      const delayMs = retryDelays(this.options.retry)[delivery.attempt - 1];
      if (delayMs !== undefined) await this.failed(delivery, failure.error, delayMs);
      else await this.setAside(delivery, sequenced, received, failure.error);
      return false;
    }
    return outcomes.length === run.length;
  }

  /**
   * With a store: the key checked (and the message parked behind its dead letter when blocked) in
   * the transaction that handles it; a message that fails for good becomes the key's dead letter
   * in the store. Acked only after the commit.
   */
  private async onStoredDelivery(delivery: Delivery, sequenced: ConsumerDeadLetters): Promise<void> {
    let received: RecordedEvent;
    try {
      received = messageToEvent(delivery.message);
    } catch (error) {
      // Not a factum event: nothing to store, no stream to order; the broker's dead letters keep it.
      return await this.failed(delivery, error, undefined);
    }
    let event: RecordedEvent | undefined;
    let unreadable: { error: unknown } | undefined;
    try {
      event = await readReceivedEvent(received, this.registry);
    } catch (error) {
      unreadable = { error };
    }
    if (!event) return this.setAside(delivery, sequenced, received, unreadable!.error);
    let handling: InboxHandling;
    try {
      handling = await this.handleStored(event, delivery, {
        before: async (tx) => {
          if (!(await sequenced.check(tx, [received.streamId])).has(received.streamId)) return false;
          await sequenced.park(tx, received);
          return true;
        },
      });
    } catch (error) {
      const delayMs = retryDelays(this.options.retry)[delivery.attempt - 1];
      if (delayMs !== undefined) return await this.failed(delivery, error, delayMs);
      return this.setAside(delivery, sequenced, received, error);
    }
    // Only now: a crash before this line leaves a committed inbox row, which absorbs the redelivery.
    await delivery.ack();
    this.counts[handling === 'duplicate' ? 'duplicates' : handling]++;
  }

  /** Records a message that failed for good as its key's dead letter (or parks it), then acks it. */
  private async setAside(delivery: Delivery, sequenced: ConsumerDeadLetters, received: RecordedEvent, error: unknown): Promise<void> {
    let outcome: 'dead' | 'parked';
    try {
      outcome = await sequenced.setAside(received, error, delivery.attempt);
    } catch (storeError) {
      // The store cannot take it now: back to the broker for later (its key waits behind it), not spun on.
      return this.failed(delivery, storeError, retryDelays(this.options.retry).at(-1) ?? 1000);
    }
    await delivery.ack();
    if (outcome === 'parked') {
      this.counts.parked++;
      return;
    }
    this.noteFailure(delivery.message, delivery.attempt, error, 'dead-letter', undefined);
    // After the commit: on PGlite, an onError that queries the store would wait behind the transaction.
    this.options.onError?.(error, delivery.message);
    this.counts.deadLettered++;
  }

  /** Handles one of the store's letters in its inbox transaction, with the key's lock and the removal of its row. */
  private async deliverLetter(letter: DeadLetter, attempt: number, handle: boolean): Promise<void> {
    const event = handle ? await readReceivedEvent(letter.event, this.registry) : letter.event;
    const message = eventToMessage(letter.event);
    const delivery = { message, attempt, partition: partitionOf(message.key, this.options.broker.capabilities.partitions) };
    const handling = await this.handleStored(event, delivery, {
      before: async (tx) => {
        await tx.lockKeys(this.sequenced!.subscription, [letter.streamId]);
        return false;
      },
      after: (tx) => tx.deleteDeadLetter(letter.id),
      run: handle,
    });
    if (handle) this.counts[handling === 'handled' ? 'handled' : 'duplicates']++;
  }

  /** Runs the handler without a store: at least once. */
  private async handle(event: RecordedEvent, delivery: Delivery): Promise<void> {
    const writes = storelessWrites();
    try {
      await this.options.handler(event, new ConsumerHandlerContext(undefined, this.name, delivery, writes, undefined));
    } catch (error) {
      writes.settle(false);
      throw error;
    }
    writes.settle(true);
  }

  /** Runs the handler in the inbox's transaction. */
  private handleStored(event: RecordedEvent, delivery: { message: BrokerMessage; attempt: number; partition: number }, steps: Parameters<typeof handleInInbox>[6]): Promise<InboxHandling> {
    const store = this.options.store!;
    return handleInInbox(this.storage!, store, this.name, delivery.message.id, event, (writes, sql) => this.options.handler(event, new ConsumerHandlerContext(store, this.name, delivery, writes, sql)), steps);
  }

  /** A retry after `delayMs`, or (none left, or unreadable) a dead letter with the error. */
  private async failed(delivery: Delivery, error: unknown, delayMs: number | undefined): Promise<void> {
    const { message } = delivery;
    this.noteFailure(message, delivery.attempt, error, delayMs === undefined ? 'dead-letter' : 'retry', delayMs);
    this.options.onError?.(error, message);
    if (delayMs === undefined) {
      await delivery.deadLetter(error);
      this.counts.deadLettered++;
    } else {
      await delivery.retry(delayMs, error);
      this.counts.retried++;
    }
  }

  private noteFailure(message: BrokerMessage, attempt: number, error: unknown, outcome: EventConsumerFailure['outcome'], delayMs: number | undefined): void {
    this.lastFailure = {
      messageId: message.id,
      key: message.key,
      attempt,
      ...deadLetterReason(error),
      outcome,
      ...(delayMs === undefined ? {} : { delayMs }),
      at: new Date(),
    };
  }
}
