import type { AppendResult } from '../../core/message.js';
import type { SqlQueryable } from '../../core/sql-queryable.js';
import { StoreTransaction, type AppendInside } from '../store-transaction.js';
import type { PrepareEvents, TransactionScope } from '../transaction-scope.js';

/** What a SQL store lends a transaction scope. */
export interface SqlTransactionParts {
  kind: string;
  /** An append on the transaction's session, in a savepoint of its own (see SqlEventStore). */
  appendOn(sql: SqlQueryable): AppendInside;
  /** Turns a failed statement into the error the user sees. */
  sqlError(error: unknown): unknown;
  /** Told of each append that wrote something, once the transaction committed. */
  announce(streamId: string, result: AppendResult): void;
}

/**
 * A SQL store's appends inside a transaction held on `sql`. Gap safety needs nothing more:
 * the first append's INSERT takes the log's write lock, which the transaction holds until it
 * ends, so `$all` readers wait for it however long it runs (read-all-safety.ts), and pass its
 * positions once it has rolled back.
 */
export function sqlTransactionScope(parts: SqlTransactionParts, sql: SqlQueryable, prepare: PrepareEvents | undefined): TransactionScope {
  const tx = new StoreTransaction(parts.kind, parts.appendOn(sql), prepare, { session: sql, error: parts.sqlError });
  return {
    tx,
    beforeCommit: () => tx.close(),
    abandon: () => tx.settle(),
    end(committed) {
      tx.end();
      if (committed) for (const { streamId, result } of tx.appended) parts.announce(streamId, result);
    },
  };
}
