import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import type { SqlQueryable } from '../../core/sql-queryable.js';
import type { ConsumerStorage, ConsumerTx } from '../../consumers/consumer-storage.js';
import { TransactionAppends, type HandlerWrites } from '../../consumers/handler-appends.js';
import { storageError } from '../../store/sql-access.js';

/** What `handleInInbox` did with the message. */
export type InboxHandling = 'handled' | 'duplicate' | 'parked';

/** Work done in the inbox's transaction around the handler. */
export interface InboxSteps {
  /** First in the transaction; true when it set the message aside (parked it): the handler does not run. */
  before?(tx: ConsumerTx): Promise<boolean>;
  /** Last in the transaction, for a handled message and a duplicate alike (a drain removes the message's dead-letter row). */
  after?(tx: ConsumerTx): Promise<void>;
  /** False to record the inbox row without running the handler (a skipped dead letter). */
  run?: boolean;
}

/**
 * Runs `handle` in one consumer transaction with the inbox row (consumer, message id): the row,
 * the handler's SQL and its appends commit together, or none of them does. Resolves `'duplicate'`,
 * without running `handle`, when the inbox holds the message already (a relay re-publish, a
 * redelivery after a crash between commit and ack), and `'parked'` when `steps.before` set it
 * aside. The appends are told to the store's listeners only after commit. An error of the handler
 * comes back as thrown; a failure of the transaction itself as `STORAGE_ERROR`.
 *
 * @example
 * const handling = await handleInInbox(storage, store, 'billing', message.id, event, (writes, sql) => handler(event, context(writes, sql)))
 * await delivery.ack() // only now: the effect is committed
 */
export async function handleInInbox(
  storage: ConsumerStorage,
  store: EventStore,
  consumer: string,
  messageId: string,
  event: RecordedEvent,
  handle: (writes: HandlerWrites, sql: SqlQueryable | undefined) => Promise<void> | void,
  steps: InboxSteps = {},
): Promise<InboxHandling> {
  let appends: TransactionAppends | undefined;
  let thrown: { error: unknown } | undefined;
  try {
    const handling = await storage.transaction(async (tx): Promise<InboxHandling> => {
      if (steps.before && (await steps.before(tx))) return 'parked';
      if (!(await tx.recordInbox(consumer, messageId))) {
        await steps.after?.(tx);
        return 'duplicate';
      }
      if (steps.run !== false) {
        appends = new TransactionAppends(store, consumer, tx.sql);
        const writes = appends.attempt(event);
        try {
          await handle(writes, tx.sql);
          await writes.succeeded();
        } catch (error) {
          thrown = { error };
          await writes.failed();
          throw error;
        }
      }
      await steps.after?.(tx);
      return 'handled';
    });
    appends?.end(true);
    return handling;
  } catch (error) {
    appends?.end(false);
    // The handler's own error goes to the retry policy as it was thrown; any other is the inbox
    // transaction's (a lost connection, a failed commit): STORAGE_ERROR with the driver's cause.
    if (thrown && thrown.error === error) throw error;
    throw storageError(`Consumer "${consumer}" handling message ${messageId}`, error);
  }
}
