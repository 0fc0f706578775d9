import { FactumError } from '../core/errors.js';
import type { AppendOptions, EventStoreTransaction } from '../core/event-store.js';
import type { AppendResult, NewEvent } from '../core/message.js';
import type { QueryOptions, SqlQueryable } from '../core/sql-queryable.js';
import type { PrepareEvents } from './transaction-scope.js';

/** How a store appends inside the transaction (the session is the store's business). */
export type AppendInside = (streamId: string, events: NewEvent[], options: AppendOptions) => Promise<AppendResult>;

/**
 * The `tx` a transaction's callback gets, the same on every store. Its steps run one at a
 * time, in call order: they share one session, and an append's savepoint must not interleave
 * with another statement. The first step that fails dooms the transaction: a failed statement
 * leaves a PostgreSQL transaction aborted, whose COMMIT would quietly roll back, and a
 * conflict means the rows were written for a state that is gone.
 */
export class StoreTransaction implements EventStoreTransaction {
  /** The appends that wrote events, in order; told to the store's listeners after commit. */
  /** What committing will have written: each append that wrote something, with its stream. */
  readonly appended: { streamId: string; result: AppendResult }[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly session: SqlQueryable | undefined;

  constructor(
    private readonly kind: string,
    private readonly appendInside: AppendInside,
    private readonly prepare: PrepareEvents | undefined,
    sql?: { session: SqlQueryable; error: (error: unknown) => unknown },
  ) {
    this.session = sql && {
      query: <Row>(text: string, params?: unknown[], options?: QueryOptions) => this.step(() => sql.session.query<Row>(text, params, options), sql.error),
    };
  }

  get sql(): SqlQueryable {
    if (!this.session) throw new FactumError('SQL_UNAVAILABLE', `The ${this.kind} store has no SQL: tx.sql needs a SQL store (PGlite or PostgreSQL)`);
    return this.session;
  }

  append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    return this.step(async () => {
      const result = await this.appendInside(streamId, this.prepare ? await this.prepare(events) : events, options);
      if (!result.alreadyAppended) this.appended.push({ streamId, result });
      return result;
    });
  }

  /** Waits for the steps in flight, ends the transaction for its callback, and throws what doomed it. */
  async close(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure.error;
  }

  /** Ends the transaction for its callback and waits for the steps in flight. */
  async settle(): Promise<void> {
    this.end();
    await this.tail;
  }

  /** Later steps throw TRANSACTION_ENDED. */
  end(): void {
    this.ended = true;
  }

  private step<T>(run: () => Promise<T>, wrap: (error: unknown) => unknown = (error) => error): Promise<T> {
    if (this.ended) return Promise.reject(new FactumError('TRANSACTION_ENDED', 'This transaction has ended: use tx only inside its callback, and await every call'));
    if (this.failure) return Promise.reject(this.failure.error);
    const result = this.tail.then(async () => {
      if (this.failure) throw this.failure.error;
      try {
        return await run();
      } catch (error) {
        const failure = wrap(error);
        this.failure = { error: failure };
        throw failure;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
