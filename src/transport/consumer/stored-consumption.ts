import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { retryDelays, type RetryPolicy } from '../../core/retry-policy.js';
import type { ConsumerStorage, DeadLetter } from '../../consumers/consumer-storage.js';
import { partitionOf } from '../../consumers/partition-of.js';
import type { EventRegistry } from '../../schema/event-registry.js';
import type { Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { eventToMessage, messageToEvent } from '../message-envelope.js';
import { ConsumerDeadLetters } from './consumer-dead-letters.js';
import type { ConsumerOutcomes } from './consumer-outcomes.js';
import { ConsumerHandlerContext, type EventConsumerHandler } from './event-consumer-context.js';
import { handleBatchInInbox, type BatchItem } from './handle-batch-in-inbox.js';
import { handleInInbox, type InboxHandling } from './handle-in-inbox.js';
import { readReceivedEvent } from './read-message-event.js';

/** What `StoredConsumption` needs of its `EventConsumer`. */
export interface StoredConsumptionOptions {
  name: string;
  store: EventStore;
  storage: ConsumerStorage;
  registry: EventRegistry | undefined;
  retry: RetryPolicy | undefined;
  /** The broker's partitions: a drained dead letter is handed to the handler as if from its lane. */
  partitions: number;
  handler: EventConsumerHandler;
  isStopping: () => boolean;
}

type RunItem = { delivery: Delivery; item: BatchItem; received: RecordedEvent };

/**
 * An `EventConsumer` with a store: each message is handled in one transaction with its inbox row
 * and acked after the commit, and dead letters are sequenced (`ConsumerDeadLetters`): a message
 * that fails for good blocks its key in the store, and the key's later messages are parked
 * behind it, in the transaction that checked the key.
 */
export class StoredConsumption {
  /** The store's dead letters and the keys they block. */
  readonly sequenced: ConsumerDeadLetters;

  constructor(
    private readonly options: StoredConsumptionOptions,
    private readonly outcomes: ConsumerOutcomes,
  ) {
    this.sequenced = new ConsumerDeadLetters(options.storage, options.name, options.retry, {
      isStopping: options.isStopping,
      deliver: (letter, attempt, handle) => this.deliverLetter(letter, attempt, handle),
      failed: (letter, error) => {
        const message = eventToMessage(letter.event);
        outcomes.report(error, message);
        outcomes.noteFailure(message, letter.attempts, error, letter.status === 'dead' ? 'dead-letter' : 'retry', undefined);
      },
      reportError: (error, event) => outcomes.report(error, eventToMessage(event)),
    });
  }

  /**
   * A partition's messages at once: runs of readable events each in one transaction
   * (`handleBatchInInbox`: the keys checked with one query, a savepoint per handler that writes),
   * acked after its commit. A message whose handler fails goes to a retry (or becomes its key's
   * dead letter) after the messages before it committed; those after it are left unsettled, so
   * the broker's lane hands them over again behind it. A message that is not a readable event is
   * handled alone, between the runs.
   */
  async onBatch(deliveries: Delivery[]): Promise<void> {
    const { counts } = this.outcomes;
    counts.inFlight += deliveries.length;
    try {
      let i = 0;
      while (i < deliveries.length) {
        const run: RunItem[] = [];
        for (; i < deliveries.length; i++) {
          const delivery = deliveries[i]!;
          const read = await this.tryRead(delivery.message);
          if (!read) break;
          run.push({ delivery, received: read.received, item: { messageId: delivery.message.id, key: read.received.streamId, event: read.event } });
        }
        if (run.length > 0 && !(await this.commitRun(run))) return;
        if (i < deliveries.length) {
          await this.handleOne(deliveries[i]!);
          i++;
        }
      }
    } catch (error) {
      // A broker that went away while settling: the messages come again, and the inbox knows them.
      this.outcomes.report(error, deliveries[0]!.message);
    } finally {
      counts.inFlight -= deliveries.length;
    }
  }

  /** One message (see `handleOne`). */
  async onDelivery(delivery: Delivery): Promise<void> {
    this.outcomes.counts.inFlight++;
    try {
      await this.handleOne(delivery);
    } catch (error) {
      // A broker that went away while settling: the message comes again, and the inbox knows it.
      this.outcomes.report(error, delivery.message);
    } finally {
      this.outcomes.counts.inFlight--;
    }
  }

  /**
   * One message: the key checked (and the message parked behind its dead letter when blocked) in
   * the transaction that handles it; a message that fails for good becomes the key's dead letter
   * in the store. Acked only after the commit.
   */
  private async handleOne(delivery: Delivery): Promise<void> {
    let received: RecordedEvent;
    try {
      received = messageToEvent(delivery.message);
    } catch (error) {
      // Not a factum event: nothing to store, no stream to order; the broker's dead letters keep it.
      return await this.outcomes.failed(delivery, error, undefined);
    }
    let event: RecordedEvent | undefined;
    let unreadable: { error: unknown } | undefined;
    try {
      event = await readReceivedEvent(received, this.options.registry);
    } catch (error) {
      unreadable = { error };
    }
    if (!event) return this.setAside(delivery, received, unreadable!.error);
    let handling: InboxHandling;
    try {
      handling = await this.handle(event, delivery, {
        before: async (tx) => {
          if (!(await this.sequenced.check(tx, [received.streamId])).has(received.streamId)) return false;
          await this.sequenced.park(tx, received);
          return true;
        },
      });
    } catch (error) {
      const delayMs = this.delayAfter(delivery.attempt);
      if (delayMs !== undefined) return await this.outcomes.failed(delivery, error, delayMs);
      return this.setAside(delivery, received, error);
    }
    // Only now: a crash before this line leaves a committed inbox row, which absorbs the redelivery.
    await delivery.ack();
    this.outcomes.counts[handling === 'duplicate' ? 'duplicates' : handling]++;
  }

  private delayAfter(attempt: number): number | undefined {
    return retryDelays(this.options.retry)[attempt - 1];
  }

  /** The event a message carries, readable now; undefined for one that is not (it goes the single way). */
  private async tryRead(message: BrokerMessage): Promise<{ received: RecordedEvent; event: RecordedEvent } | undefined> {
    try {
      const received = messageToEvent(message);
      return { received, event: await readReceivedEvent(received, this.options.registry) };
    } catch {
      return undefined;
    }
  }

  /** One run of a batch in one transaction; false when the batch must end here (a failure, or a transaction cut short). */
  private async commitRun(run: RunItem[]): Promise<boolean> {
    const { name, store, storage, handler } = this.options;
    const of = (item: BatchItem): RunItem => run.find((r) => r.item === item)!;
    let handling;
    try {
      handling = await handleBatchInInbox(
        storage,
        store,
        name,
        run.map((r) => r.item),
        { admit: (tx, messages) => this.sequenced.admit(tx, name, messages), park: (tx, item) => this.sequenced.park(tx, of(item).received) },
        (item, writes, sql) => handler(item.event, new ConsumerHandlerContext(store, name, of(item).delivery, writes, sql)),
      );
    } catch {
      // Nothing of the run was written (a failed commit, a lost connection): its first message goes
      // the single way, which retries it (and dead-letters it in the end); the rest come again.
      await this.handleOne(run[0]!.delivery);
      return false;
    }
    const { outcomes, failure } = handling;
    for (const [j, outcome] of outcomes.entries()) {
      await run[j]!.delivery.ack();
      this.outcomes.counts[outcome === 'duplicate' ? 'duplicates' : outcome]++;
    }
    if (failure) {
      const { delivery, received } = run[failure.index]!;
      const delayMs = this.delayAfter(delivery.attempt);
      if (delayMs !== undefined) await this.outcomes.failed(delivery, failure.error, delayMs);
      else await this.setAside(delivery, received, failure.error);
      return false;
    }
    return outcomes.length === run.length;
  }

  /** Records a message that failed for good as its key's dead letter (or parks it), then acks it. */
  private async setAside(delivery: Delivery, received: RecordedEvent, error: unknown): Promise<void> {
    let outcome: 'dead' | 'parked';
    try {
      outcome = await this.sequenced.setAside(received, error, delivery.attempt);
    } catch (storeError) {
      // The store cannot take it now: back to the broker for later (its key waits behind it), not spun on.
      return this.outcomes.failed(delivery, storeError, retryDelays(this.options.retry).at(-1) ?? 1000);
    }
    await delivery.ack();
    if (outcome === 'parked') {
      this.outcomes.counts.parked++;
      return;
    }
    this.outcomes.noteFailure(delivery.message, delivery.attempt, error, 'dead-letter', undefined);
    // After the commit: on PGlite, an onError that queries the store would wait behind the transaction.
    this.outcomes.report(error, delivery.message);
    this.outcomes.counts.deadLettered++;
  }

  /** Handles one of the store's letters in its inbox transaction, with the key's lock and the removal of its row. */
  private async deliverLetter(letter: DeadLetter, attempt: number, handle: boolean): Promise<void> {
    const event = handle ? await readReceivedEvent(letter.event, this.options.registry) : letter.event;
    const message = eventToMessage(letter.event);
    const delivery = { message, attempt, partition: partitionOf(message.key, this.options.partitions) };
    const handling = await this.handle(event, delivery, {
      before: async (tx) => {
        await tx.lockKeys(this.sequenced.subscription, [letter.streamId]);
        return false;
      },
      after: (tx) => tx.deleteDeadLetter(letter.id),
      run: handle,
    });
    if (handle) this.outcomes.counts[handling === 'handled' ? 'handled' : 'duplicates']++;
  }

  /** Runs the handler in the inbox's transaction. */
  private handle(event: RecordedEvent, delivery: { message: BrokerMessage; attempt: number; partition: number }, steps: Parameters<typeof handleInInbox>[6]): Promise<InboxHandling> {
    const { name, store, storage, handler } = this.options;
    return handleInInbox(storage, store, name, delivery.message.id, event, (writes, sql) => handler(event, new ConsumerHandlerContext(store, name, delivery, writes, sql)), steps);
  }
}
