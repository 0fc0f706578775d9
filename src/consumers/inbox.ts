import type { EventStore } from '../core/event-store.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { consumerStorageFor, type ConsumerStorage } from './consumer-storage.js';

/** The outcome of `Inbox.handle`. */
export type InboxOutcome<T> = { duplicate: false; result: T } | { duplicate: true };

/**
 * Idempotent consumption: the pair (consumer, message id) is recorded in the same transaction
 * as the consumer's effect, so a redelivered message (at-least-once delivery) is recognised and
 * not applied twice, and a crash before the commit leaves neither the effect nor the record.
 * On SQL stores write the effect through `sql`; on the memory store the record is made only
 * after the effect returns.
 *
 * @example
 * const inbox = new Inbox(store, 'billing')
 * const outcome = await inbox.handle(event.id, async (sql) => {
 *   await sql!.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.streamId])
 * })
 * if (outcome.duplicate) console.log('seen before, nothing done')
 */
export class Inbox {
  private readonly storage: ConsumerStorage;

  constructor(
    store: EventStore,
    readonly consumer: string,
  ) {
    this.storage = consumerStorageFor(store);
  }

  /** Runs `effect` unless `messageId` was handled before by this consumer. */
  handle<T>(messageId: string, effect: (sql: SqlQueryable | undefined) => Promise<T> | T): Promise<InboxOutcome<T>> {
    return this.storage.transaction(async (tx) => {
      if (!(await tx.recordInbox(this.consumer, messageId))) return { duplicate: true };
      return { duplicate: false, result: await effect(tx.sql) };
    });
  }

  /** True when `messageId` was handled by this consumer. */
  has(messageId: string): Promise<boolean> {
    return this.storage.hasInbox(this.consumer, messageId);
  }
}
