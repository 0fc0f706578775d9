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
  /** The session of the handler's transaction (SQL stores), where its reads must run too. */
  readonly session?: SqlQueryable | undefined;
}

/**
 * The outcome of a handler's work, as a promise made only when someone asks (most never do):
 * `settle` may come before or after the first `committed`.
 */
class Outcome {
  private result?: boolean;
  private resolve?: (committed: boolean) => void;
  private promise?: Promise<boolean>;

  get committed(): Promise<boolean> {
    if (this.result !== undefined) return Promise.resolve(this.result);
    return (this.promise ??= new Promise<boolean>((resolve) => (this.resolve = resolve)));
  }

  settle(committed: boolean): void {
    if (this.result !== undefined) return;
    this.result = committed;
    this.resolve?.(committed);
  }
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
  const outcome = new Outcome();
  return {
    append: (streamId, events, options) => store.append(streamId, withIds(subscription, handled, calls++, events), options),
    appendedTo: () => [],
    get committed() {
      return outcome.committed;
    },
    settle: (committed) => outcome.settle(committed),
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
  private readonly outcomes: Outcome[] = [];
  private readonly recorded = new Map<string, RecordedEvent[]>();

  constructor(
    private readonly store: EventStore,
    private readonly subscription: string,
    private readonly sql: SqlQueryable | undefined,
  ) {}

  /**
   * The writes of one handler run for `handled`, on `sql`: the transaction's session, or a view
   * of it that takes the handler's savepoint first (`LazySavepoint`), so the appends are undone with it.
   */
  attempt(handled: RecordedEvent, sql = this.sql): HandlerAttempt {
    return new HandlerAttempt(this.store, this.subscription, handled, sql, this.recorded, this.kept, this.outcomes);
  }

  /** After the transaction ended: tells the listeners about what committed, or drops it all. */
  end(committed: boolean): void {
    for (const scope of this.kept.splice(0)) scope.end(committed);
    for (const outcome of this.outcomes.splice(0)) outcome.settle(committed);
  }
}

/**
 * One handler run's appends: kept with the transaction when it succeeds, undone when it fails.
 *
 * @example
 * const attempt = appends.attempt(event)
 * await attempt.append('ack-1', [{ type: 'Acked', data: {} }])
 * await attempt.succeeded() // or, when the handler threw: await attempt.failed()
 */
export class HandlerAttempt implements HandlerWrites {
  // Made on first use: most handlers append nothing, and a projection's catch-up runs thousands a second.
  private scopes?: TransactionScope[];
  private own?: Map<string, RecordedEvent[]>;
  /** Appends of one handler share a session: they run one after another, in call order. */
  private tail?: Promise<unknown>;
  private calls = 0;
  private readonly outcome = new Outcome();

  constructor(
    private readonly store: EventStore,
    private readonly subscription: string,
    private readonly handled: RecordedEvent,
    private readonly sql: SqlQueryable | undefined,
    private readonly recorded: Map<string, RecordedEvent[]>,
    private readonly kept: TransactionScope[],
    private readonly outcomes: Outcome[],
  ) {}

  get committed(): Promise<boolean> {
    return this.outcome.committed;
  }

  get session(): SqlQueryable | undefined {
    return this.sql;
  }

  append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const identified = withIds(this.subscription, this.handled, this.calls++, events);
    const result = (this.tail ?? Promise.resolve()).then(() => this.appendNow(streamId, identified, options));
    this.tail = result.catch(() => undefined);
    return result;
  }

  appendedTo(streamId: string): RecordedEvent[] {
    const before = this.recorded.get(streamId);
    const own = this.own?.get(streamId);
    return own ? [...(before ?? []), ...own] : (before ?? []);
  }

  /** The handler returned: its appends stay with the transaction (memory store: they become visible now). */
  async succeeded(): Promise<void> {
    this.outcomes.push(this.outcome);
    if (!this.tail) return;
    await this.tail;
    const scopes = this.scopes ?? [];
    if (!this.sql) {
      const draft = scopes.pop();
      if (draft) {
        try {
          await draft.beforeCommit();
        } catch (error) {
          // A draft left open would hold the memory store's other writers back for good.
          draft.end(false);
          throw error;
        }
        draft.end(true);
      }
    } else {
      this.kept.push(...scopes.splice(0));
    }
    for (const [streamId, events] of this.own ?? []) this.recorded.set(streamId, [...(this.recorded.get(streamId) ?? []), ...events]);
    this.own?.clear();
  }

  /** The handler threw: its appends are undone with its savepoint (memory store: the draft is dropped). */
  async failed(): Promise<void> {
    // Taken back if `succeeded` queued it and then failed (an inline projection on the memory store).
    if (this.outcomes[this.outcomes.length - 1] === this.outcome) this.outcomes.pop();
    this.outcome.settle(false);
    if (!this.tail) return;
    await this.tail;
    for (const scope of (this.scopes ?? []).splice(0)) {
      await scope.abandon();
      scope.end(false);
    }
    this.own?.clear();
  }

  private async appendNow(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    const scopes = (this.scopes ??= []);
    // Memory store: one draft for the whole run (it holds the store's other writers back until it ends).
    const fresh = Boolean(this.sql) || scopes.length === 0;
    const scope = fresh ? await enlistTransaction(this.store, this.sql) : scopes[0]!;
    if (fresh) scopes.push(scope);
    let result: AppendResult;
    try {
      result = await scope.tx.append(streamId, events, options);
      if (this.sql) await scope.beforeCommit();
    } catch (error) {
      if (this.sql) {
        scopes.pop();
        await scope.abandon();
        scope.end(false);
      }
      throw error;
    }
    if (!result.alreadyAppended) {
      const own = (this.own ??= new Map());
      own.set(streamId, [...(own.get(streamId) ?? []), ...recordedEvents(this.store, streamId, events, result)]);
    }
    return result;
  }
}
