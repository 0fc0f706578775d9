import type { AppendOptions, EventStore } from '../core/event-store.js';
import type { AppendResult, NewEvent, RecordedEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { recordedEvents } from '../domain/recorded-events.js';
import { enlistTransaction, type TransactionScope } from '../store/transaction-scope.js';
import { handlerEventId } from './handler-event-id.js';

/** What a handler's `append` and its store view (`handlerStoreView`) stand on. */
export interface HandlerWrites {
  append(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** The events this handler's transaction appended to `streamId` so far, in version order (none outside a transaction). */
  appendedTo(streamId: string): RecordedEvent[];
  /** True once the handler's work committed, false when it was rolled back (see `HandlerContext.committed`). */
  readonly committed: Promise<boolean>;
}

/** A promise of the outcome and the function that settles it (once). */
function outcome(): { committed: Promise<boolean>; settle: (committed: boolean) => void } {
  let settle!: (committed: boolean) => void;
  const committed = new Promise<boolean>((resolve) => (settle = resolve));
  return { committed, settle };
}

/** Events without an id get the handled event's deterministic ones (see `handlerEventId`). */
function withIds(subscription: string, handled: RecordedEvent, call: number, events: NewEvent[]): NewEvent[] {
  return events.map((e, i) => (e.id === undefined ? { ...e, id: handlerEventId(subscription, handled.id, call, i) } : e));
}

/**
 * A handler's appends outside any transaction (`transactional: false`): plain appends that
 * commit at once (at-least-once with the handler), made idempotent across deliveries by
 * deterministic event ids.
 *
 * @example
 * const writes = plainHandlerWrites(store, 'order-emails', event)
 * await writes.append('mail-1', [{ type: 'MailSent', data: {} }])
 */
export function plainHandlerWrites(store: EventStore, subscription: string, handled: RecordedEvent): HandlerWrites & { settle: (committed: boolean) => void } {
  let calls = 0;
  return {
    append: (streamId, events, options) => store.append(streamId, withIds(subscription, handled, calls++, events), options),
    appendedTo: () => [],
    ...outcome(),
  };
}

/**
 * The appends of the handlers that run in one consumer transaction (a page, or a retry).
 * Each append joins the transaction through `enlistTransaction` (the store's rules, the
 * registry's validation, inline projections). On a SQL store each append has a scope of its own, so a
 * refused append (a version conflict that `handleCommand` retries) fails alone; they are told
 * to the store's listeners (wake-ups) only when the transaction committed. Without a session
 * (the memory store) a handler's appends are one draft that becomes visible when the handler
 * returns and is dropped when it throws.
 *
 * @example
 * const appends = new TransactionAppends(store, 'order-emails', tx.sql)
 * const attempt = appends.attempt(event)
 * try { await handler(event, { append: attempt.append }); await attempt.succeeded() } catch (e) { await attempt.failed(); throw e }
 * // after COMMIT: appends.end(true); after a rollback: appends.end(false)
 */
export class TransactionAppends {
  /** Scopes of the handlers that succeeded, ended with the transaction. */
  private readonly kept: TransactionScope[] = [];
  /** Outcomes of the handlers that succeeded, settled with the transaction. */
  private readonly outcomes: Array<(committed: boolean) => void> = [];
  private readonly recorded = new Map<string, RecordedEvent[]>();

  constructor(
    private readonly store: EventStore,
    private readonly subscription: string,
    private readonly sql: SqlQueryable | undefined,
  ) {}

  /** The writes of one handler run for `handled`. */
  attempt(handled: RecordedEvent): HandlerAttempt {
    return new HandlerAttempt(this.store, this.subscription, handled, this.sql, this.recorded, this.kept, this.outcomes);
  }

  /** After the transaction ended: tells the listeners about what committed, or drops it all. */
  end(committed: boolean): void {
    for (const scope of this.kept.splice(0)) scope.end(committed);
    for (const settle of this.outcomes.splice(0)) settle(committed);
  }
}

/** One handler run's appends: kept with the transaction when it succeeds, undone when it fails. */
export class HandlerAttempt implements HandlerWrites {
  private readonly scopes: TransactionScope[] = [];
  private readonly own = new Map<string, RecordedEvent[]>();
  /** Appends of one handler share a session: they run one after another, in call order. */
  private tail: Promise<unknown> = Promise.resolve();
  private calls = 0;
  private readonly outcome = outcome();
  readonly committed = this.outcome.committed;

  constructor(
    private readonly store: EventStore,
    private readonly subscription: string,
    private readonly handled: RecordedEvent,
    private readonly sql: SqlQueryable | undefined,
    private readonly recorded: Map<string, RecordedEvent[]>,
    private readonly kept: TransactionScope[],
    private readonly outcomes: Array<(committed: boolean) => void>,
  ) {}

  append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const identified = withIds(this.subscription, this.handled, this.calls++, events);
    const result = this.tail.then(() => this.appendNow(streamId, identified, options));
    this.tail = result.catch(() => undefined);
    return result;
  }

  appendedTo(streamId: string): RecordedEvent[] {
    return [...(this.recorded.get(streamId) ?? []), ...(this.own.get(streamId) ?? [])];
  }

  /** The handler returned: its appends stay with the transaction (memory store: they become visible now). */
  async succeeded(): Promise<void> {
    await this.tail;
    if (!this.sql) {
      const draft = this.scopes.pop();
      if (draft) {
        await draft.beforeCommit();
        draft.end(true);
      }
    } else {
      this.kept.push(...this.scopes.splice(0));
    }
    for (const [streamId, events] of this.own) this.recorded.set(streamId, [...(this.recorded.get(streamId) ?? []), ...events]);
    this.own.clear();
    this.outcomes.push(this.outcome.settle);
  }

  /** The handler threw: its appends are undone with its savepoint (memory store: the draft is dropped). */
  async failed(): Promise<void> {
    await this.tail;
    for (const scope of this.scopes.splice(0)) {
      await scope.abandon();
      scope.end(false);
    }
    this.own.clear();
    this.outcome.settle(false);
  }

  private async appendNow(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    // Memory store: one draft for the whole run (it holds the store's other writers back until it ends).
    const scope = this.sql || this.scopes.length === 0 ? await enlistTransaction(this.store, this.sql) : this.scopes[0]!;
    if (this.sql || this.scopes.length === 0) this.scopes.push(scope);
    let result: AppendResult;
    try {
      result = await scope.tx.append(streamId, events, options);
      if (this.sql) await scope.beforeCommit();
    } catch (error) {
      if (this.sql) {
        this.scopes.pop();
        await scope.abandon();
        scope.end(false);
      }
      throw error;
    }
    if (!result.alreadyAppended) this.own.set(streamId, [...(this.own.get(streamId) ?? []), ...recordedEvents(this.store, streamId, events, result)]);
    return result;
  }
}
