import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import type { SqlQueryable } from '../../core/sql-queryable.js';
import type { ConsumerStorage } from '../../consumers/consumer-storage.js';
import { TransactionAppends, type HandlerWrites } from '../../consumers/handler-appends.js';
import { storageError } from '../../store/sql-access.js';

/**
 * Runs `handle` in one consumer transaction with the inbox row (consumer, message id): the row,
 * the handler's SQL and its appends commit together, or none of them does. Resolves false, without
 * running `handle`, when the inbox holds the message already (a relay re-publish, a redelivery after
 * a crash between commit and ack). The appends are told to the store's listeners only after commit.
 * An error of the handler comes back as thrown; a failure of the transaction itself as `STORAGE_ERROR`.
 *
 * @example
 * const handled = await handleInInbox(storage, store, 'billing', message.id, event, (writes, sql) => handler(event, context(writes, sql)))
 * await delivery.ack() // only now: the effect is committed
 */
export async function handleInInbox(
  storage: ConsumerStorage,
  store: EventStore,
  consumer: string,
  messageId: string,
  event: RecordedEvent,
  handle: (writes: HandlerWrites, sql: SqlQueryable | undefined) => Promise<void> | void,
): Promise<boolean> {
  let appends: TransactionAppends | undefined;
  let thrown: { error: unknown } | undefined;
  try {
    const handled = await storage.transaction(async (tx) => {
      if (!(await tx.recordInbox(consumer, messageId))) return false;
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
      return true;
    });
    appends?.end(true);
    return handled;
  } catch (error) {
    appends?.end(false);
    // The handler's own error goes to the retry policy as it was thrown; any other is the inbox
    // transaction's (a lost connection, a failed commit): STORAGE_ERROR with the driver's cause.
    if (thrown && thrown.error === error) throw error;
    throw storageError(`Consumer "${consumer}" handling message ${messageId}`, error);
  }
}
