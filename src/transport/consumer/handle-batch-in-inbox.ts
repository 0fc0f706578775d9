import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import type { SqlQueryable } from '../../core/sql-queryable.js';
import type { ConsumerStorage, ConsumerTx } from '../../consumers/consumer-storage.js';
import { MAX_SAVEPOINTS_PER_TRANSACTION } from '../../consumers/deliver-in-transaction.js';
import { TransactionAppends, type HandlerWrites } from '../../consumers/handler-appends.js';
import { LazySavepoint } from '../../consumers/lazy-savepoint.js';
import { storageError } from '../../store/sql-access.js';
import type { InboxHandling } from './handle-in-inbox.js';

/** One message of a batch: its id (the inbox's key), its key, and the event to handle. */
export interface BatchItem {
  messageId: string;
  key: string;
  event: RecordedEvent;
}

/** What `handleBatchInInbox` committed. */
export interface BatchHandling {
  /** The outcome of each item of the committed prefix, in order (its length is the prefix's). */
  outcomes: InboxHandling[];
  /** The item whose handler threw, just after the prefix: its writes were undone, the prefix committed without it. */
  failure?: { index: number; error: unknown };
}

/** The work done in the batch's transaction around the handlers. */
export interface BatchSteps {
  /**
   * First in the transaction, once for the batch: the keys whose messages are set aside (parked)
   * instead of handled, and the inbox rows of the others (the ids recorded now).
   */
  admit(tx: ConsumerTx, messages: Array<{ id: string; key: string }>): Promise<{ held: Set<string>; recorded: Set<string> }>;
  /** Sets a message of a held key aside, in the transaction. */
  park(tx: ConsumerTx, item: BatchItem): Promise<void>;
}

/**
 * Handles a batch of messages (one partition's, in order) in one consumer transaction: the held
 * keys read and the inbox rows written in one statement for them all, then per message its
 * handler under a savepoint taken only when the handler writes (`LazySavepoint`). The first handler that throws has its own
 * writes undone, and the transaction commits the messages before it; the ones after it are left
 * for the caller (they must not overtake it). A transaction ends early once its handlers took
 * `MAX_SAVEPOINTS_PER_TRANSACTION` savepoints: the outcomes then cover a prefix, the rest is the
 * caller's again. A failure of the transaction itself (a commit, a lost connection) is
 * `STORAGE_ERROR`, and nothing of the batch is written.
 *
 * @example
 * const { outcomes, failure } = await handleBatchInInbox(storage, store, 'billing', items, steps, (item, writes, sql) => handler(item.event, context(item, writes, sql)))
 * for (const delivery of deliveries.slice(0, outcomes.length)) await delivery.ack()
 */
export async function handleBatchInInbox(
  storage: ConsumerStorage,
  store: EventStore,
  consumer: string,
  items: BatchItem[],
  steps: BatchSteps,
  handle: (item: BatchItem, writes: HandlerWrites, sql: SqlQueryable | undefined) => Promise<void> | void,
): Promise<BatchHandling> {
  let appends: TransactionAppends | undefined;
  let result: BatchHandling = { outcomes: [] };
  try {
    await storage.transaction(async (tx) => {
      const outcomes: InboxHandling[] = [];
      result = { outcomes };
      appends = new TransactionAppends(store, consumer, tx.sql);
      // The held keys and the inbox rows of the batch in one statement; the rows of a failed
      // handler and of the messages after it are removed again before the commit (not handled here).
      const { held, recorded } = await steps.admit(
        tx,
        items.map((item) => ({ id: item.messageId, key: item.key })),
      );
      const forgetFrom = async (from: number): Promise<void> => {
        for (const item of items.slice(from)) if (recorded.has(item.messageId)) await tx.forgetInbox(consumer, item.messageId);
      };
      let savepoints = 0;
      for (const [index, item] of items.entries()) {
        if (savepoints >= MAX_SAVEPOINTS_PER_TRANSACTION) return forgetFrom(index);
        if (held.has(item.key)) {
          await steps.park(tx, item);
          outcomes.push('parked');
          continue;
        }
        // A message twice in one batch (a relay's re-publish): the first is handled, the second a duplicate.
        if (!recorded.delete(item.messageId)) {
          outcomes.push('duplicate');
          continue;
        }
        const guard = new LazySavepoint(tx);
        const writes = appends.attempt(item.event, guard.sql);
        try {
          await handle(item, writes, guard.sql);
          await writes.succeeded();
        } catch (error) {
          await writes.failed();
          await guard.undo();
          recorded.add(item.messageId);
          await forgetFrom(index);
          result.failure = { index, error };
          return;
        } finally {
          savepoints += guard.savepoints;
        }
        outcomes.push('handled');
      }
    });
    appends?.end(true);
    return result;
  } catch (error) {
    appends?.end(false);
    throw storageError(`Consumer "${consumer}" handling a batch of ${items.length} messages`, error);
  }
}
