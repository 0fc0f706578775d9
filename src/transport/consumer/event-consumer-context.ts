import { FactumError } from '../../core/errors.js';
import type { AppendOptions, EventStore } from '../../core/event-store.js';
import type { AppendResult, NewEvent, RecordedEvent } from '../../core/message.js';
import type { SqlQueryable } from '../../core/sql-queryable.js';
import type { HandlerWrites } from '../../consumers/handler-appends.js';
import { handlerStoreView } from '../../consumers/handler-store-view.js';
import type { HandlerContext } from '../../consumers/subscription.js';
import type { BrokerMessage } from '../broker-message.js';

/**
 * What an `EventConsumer`'s handler gets beside the event: a subscription handler's context
 * (`sql`, `append`, `store` and `committed` in the transaction that also writes the inbox row;
 * `subscription` is the consumer's name), and the broker message as it arrived. A handler written
 * for a `Subscription` runs on a broker consumer unchanged.
 *
 * @example
 * handler: async (event, context) => {
 *   await context.sql!.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.streamId])
 *   console.log(context.message.headers['traceparent'], context.partition, context.attempt)
 * }
 */
export interface EventConsumerContext extends HandlerContext {
  /** The message as the broker delivered it (headers, key, body). */
  message: BrokerMessage;
  /** The broker's ordered lane it came from. */
  partition: number;
}

/** Handles one event from the broker. Throwing means "failed": the retry policy, then the dead letters, take over. */
export type EventConsumerHandler = (event: RecordedEvent, context: EventConsumerContext) => Promise<void> | void;

const noStore = (): FactumError =>
  new FactumError('INVALID_ARGUMENT', 'This EventConsumer was given no store: pass `store` to append, or to have the inbox and your SQL in one transaction');

/**
 * The writes of a handler that runs without a store: appends are refused, and `committed` says
 * whether the handler returned.
 *
 * @example
 * const writes = storelessWrites()
 * try { await handler(event, context) ; writes.settle(true) } catch (e) { writes.settle(false) ; throw e }
 */
export function storelessWrites(): HandlerWrites & { settle: (committed: boolean) => void } {
  let settle!: (committed: boolean) => void;
  const committed = new Promise<boolean>((resolve) => (settle = resolve));
  return { append: () => Promise.reject(noStore()), appendedTo: () => [], committed, settle };
}

/**
 * The `EventConsumerContext` an `EventConsumer` builds for one delivery. `store` is a getter,
 * made only when a handler uses it.
 *
 * @example
 * await handler(event, new ConsumerHandlerContext(store, 'billing', delivery, writes, tx.sql))
 */
export class ConsumerHandlerContext implements EventConsumerContext {
  readonly sql?: SqlQueryable;
  readonly append: (streamId: string, events: NewEvent[], options?: AppendOptions) => Promise<AppendResult>;
  readonly attempt: number;
  readonly message: BrokerMessage;
  readonly partition: number;
  private view?: EventStore;

  constructor(
    private readonly consumerStore: EventStore | undefined,
    readonly subscription: string,
    delivery: { message: BrokerMessage; attempt: number; partition: number },
    private readonly writes: HandlerWrites,
    sql: SqlQueryable | undefined,
  ) {
    if (sql) this.sql = sql;
    this.attempt = delivery.attempt;
    this.message = delivery.message;
    this.partition = delivery.partition;
    this.append = (streamId, events, options) => writes.append(streamId, events, options);
  }

  get store(): EventStore {
    if (!this.consumerStore) throw noStore();
    return (this.view ??= handlerStoreView(this.consumerStore, this.writes));
  }

  get committed(): Promise<boolean> {
    return this.writes.committed;
  }
}
