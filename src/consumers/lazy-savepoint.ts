import type { SqlQueryable } from '../core/sql-queryable.js';
import type { ConsumerTx } from './consumer-storage.js';

/** One handler invocation's view of the batch's transaction, and how to undo what it did. */
export interface LazySavepoint {
  /** The transaction as the handler gets it: its `sql` takes the savepoint before the first statement. */
  readonly tx: ConsumerTx;
  /** True once the handler used `sql`, so a savepoint was taken. */
  readonly taken: boolean;
  /** Undoes the invocation: back to its savepoint (if taken), and its inbox rows forgotten. */
  undo(): Promise<void>;
}

/**
 * Guards one handler invocation on a SQL store with a savepoint taken only when the handler first
 * uses `sql`: a handler whose effects are elsewhere (an email, a broker) costs no round trip and
 * opens no subtransaction. The inbox row is written before the handler, outside that savepoint,
 * so a failure deletes it instead (`forgetInbox`); the retry must not find it.
 *
 * The savepoint is not released after success: a RELEASE would cost the round trip saved here,
 * and a released subtransaction keeps its xid in the backend's subxid cache all the same, so
 * only ending the transaction bounds that (see `deliverInTransaction`).
 *
 * @example
 * const guard = lazySavepoint(tx)
 * try { await handle(guard.tx, event) } catch (error) { await guard.undo() }
 */
export function lazySavepoint(tx: ConsumerTx & { readonly sql: SqlQueryable }): LazySavepoint {
  let taking: Promise<void> | undefined;
  const inboxRows: Array<[string, string]> = [];
  const sql: SqlQueryable = {
    async query(text, params, options) {
      // Queries started together still share one savepoint, taken before the first of them.
      await (taking ??= tx.savepoint());
      return tx.sql.query(text, params, options);
    },
  };
  // A proxy rather than a copy: the storage's methods run on the real transaction (its own
  // statements take no savepoint), and methods added to ConsumerTx later pass through unchanged.
  const view = new Proxy(tx, {
    get(target, property) {
      if (property === 'sql') return sql;
      if (property === 'recordInbox') {
        return async (consumer: string, messageId: string) => {
          const recorded = await target.recordInbox(consumer, messageId);
          if (recorded) inboxRows.push([consumer, messageId]);
          return recorded;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    tx: view,
    get taken() {
      return taking !== undefined;
    },
    async undo() {
      // A savepoint that could not be taken throws here: the transaction is unusable, the batch fails whole.
      if (taking) {
        await taking;
        await tx.rollbackToSavepoint();
      }
      for (const [consumer, messageId] of inboxRows) await tx.forgetInbox(consumer, messageId);
    },
  };
}
