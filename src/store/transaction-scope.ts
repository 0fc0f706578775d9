import { FactumError } from '../core/errors.js';
import type { EventStore, EventStoreTransaction } from '../core/event-store.js';
import type { NewEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';

/** A step every append of a transaction's events goes through first (the registry's validation). */
export type PrepareEvents = (events: NewEvent[]) => Promise<NewEvent[]> | NewEvent[];

/** The store's side of a transaction someone holds: `store.transaction`, or a handler's. */
export const ENLIST_TRANSACTION = Symbol.for('factum.enlistTransaction');
/** `store.transaction` with a PrepareEvents step: how a registry wrapper passes it through. */
export const RUN_TRANSACTION = Symbol.for('factum.runTransaction');

/** What a store (or a registry wrapper in front of one) offers through the symbols above. */
export interface TransactionCapable {
  [ENLIST_TRANSACTION](sql: SqlQueryable | undefined, prepare?: PrepareEvents): Promise<TransactionScope>;
  [RUN_TRANSACTION]<T>(fn: (tx: EventStoreTransaction) => Promise<T>, prepare?: PrepareEvents): Promise<T>;
}

/**
 * Appends that belong to a transaction the caller holds. The holder drives it:
 * `beforeCommit()` just before its COMMIT (it throws when the transaction must roll back
 * instead) or `abandon()` before a rollback, then `end(committed)` once the transaction is
 * over, committed or not.
 */
export interface TransactionScope {
  /** Appends (and `sql`, the holder's session) for the work done inside the transaction. */
  readonly tx: EventStoreTransaction;
  /** Waits for the appends in flight, ends `tx`, and throws the failure that must roll the transaction back, if any. */
  beforeCommit(): Promise<void>;
  /** Instead of `beforeCommit` when the transaction will roll back: waits for the appends in flight and ends `tx`. */
  abandon(): Promise<void>;
  /**
   * Ends `tx` (later calls throw TRANSACTION_ENDED). When `committed`, tells the store's
   * listeners (in-process subscriptions) about the appends; on the memory store it also makes
   * them visible, or discards them, and lets the store's other writers go on.
   */
  end(committed: boolean): void;
}

/**
 * For the layers above the store (subscriptions, projection runners, sagas): makes appends part
 * of a transaction they already hold, e.g. a handler's, with every rule of `append` (expected
 * versions, idempotency, validation, inline projections, the registry's validation when
 * wrapped). `sql` is that transaction's session on a SQL store (none on the memory store, where
 * the appends are held back until `end(true)`).
 *
 * @example
 * // inside a handler that owns `sql`, a transaction about to commit:
 * const scope = await enlistTransaction(store, sql)
 * try {
 *   await scope.tx.append('order-1', [{ type: 'OrderShipped', data: {} }])
 *   await scope.beforeCommit()
 *   await commit()
 *   scope.end(true)
 * } catch (error) { await scope.abandon(); scope.end(false); throw error }
 */
export async function enlistTransaction(store: EventStore, sql?: SqlQueryable): Promise<TransactionScope> {
  const enlist = (store as Partial<TransactionCapable>)[ENLIST_TRANSACTION];
  if (typeof enlist !== 'function') throw new FactumError('INVALID_ARGUMENT', `The ${store.kind} store cannot join a transaction`);
  return enlist.call(store, sql);
}
