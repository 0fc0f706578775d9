import type { AppendOptions, EventStore } from '../core/event-store.js';
import type { AppendResult, NewEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import type { HandlerWrites } from './handler-appends.js';
import { handlerStoreView } from './handler-store-view.js';
import type { HandlerContext } from './subscription.js';

/**
 * The `HandlerContext` a subscription gives its handler. `store` and `committed` are getters
 * on the prototype: made only when used, and left out when a projection spreads this context
 * into its own (once per event, thousands of times a second in a catch-up).
 *
 * @example
 * await handler(event, new SubscriptionHandlerContext(store, 'order-emails', 1, writes, tx.sql))
 */
export class SubscriptionHandlerContext implements HandlerContext {
  readonly sql?: SqlQueryable;
  readonly append: (streamId: string, events: NewEvent[], options?: AppendOptions) => Promise<AppendResult>;
  private view?: EventStore;

  constructor(
    private readonly subscriptionStore: EventStore,
    readonly subscription: string,
    readonly attempt: number,
    private readonly writes: HandlerWrites,
    sql: SqlQueryable | undefined,
  ) {
    if (sql) this.sql = sql;
    this.append = (streamId, events, options) => writes.append(streamId, events, options);
  }

  get store(): EventStore {
    return (this.view ??= handlerStoreView(this.subscriptionStore, this.writes));
  }

  get committed(): Promise<boolean> {
    return this.writes.committed;
  }
}
