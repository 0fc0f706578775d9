import type { RecordedEvent } from '../core/message.js';
import type { ConsumerTx } from './consumer-storage.js';
import type { DeadLetterDrain } from './dead-letter-drain.js';
import type { LazySavepoint } from './lazy-savepoint.js';

/**
 * What a page delivery (`deliverInTransaction`, `deliverOutside`) needs from its subscription.
 *
 * @example
 * await deliverInTransaction(host, page.events, page.position)
 */
export interface DeliveryHost {
  readonly drain: DeadLetterDrain;
  /**
   * The handlers keep every effect in the transaction (a projection's read model): a failure may
   * roll the page back and have the events before it handled again (see `deliverInTransaction`).
   */
  readonly replayOnFailure: boolean;
  /** The checkpoint's position. */
  position(): bigint;
  /** True once `stop()` was called: the delivery ends after the event in hand. */
  isStopping(): boolean;
  positionOf(event: RecordedEvent): bigint;
  /** A transaction that ends by moving the checkpoint to the position `fn` returns (`CheckpointKeeper.commit`). */
  commit(fn: (tx: ConsumerTx) => Promise<bigint>, committed?: () => void): Promise<void>;
  /**
   * Upcasts the event and runs the handler in `tx` (unless the inbox has seen it); with a `guard`,
   * the handler's statements, its appends and its inbox row go through it.
   */
  handle(tx: ConsumerTx, event: RecordedEvent, attempt: number, guard?: LazySavepoint): Promise<void>;
  /** Upcasts the event and runs the handler outside any transaction. */
  handleOutside(event: RecordedEvent, attempt: number): Promise<void>;
}
