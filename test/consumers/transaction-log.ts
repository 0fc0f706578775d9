/** Records the statements of every transaction a SQL store's client runs, to count savepoints. */
import type { SqlEventStore } from '../../src/store/sql/sql-event-store.js';

/** One entry per transaction, in the order they began: its statements' text. */
export type TransactionLog = string[][];

/**
 * Wraps `store.client.transaction` so each transaction's statements are logged, the real
 * transaction running underneath. Returns the log; the wrapper stays until the store closes.
 */
export function logTransactions(store: SqlEventStore): TransactionLog {
  const log: TransactionLog = [];
  const client = store.client as { transaction: SqlEventStore['client']['transaction'] };
  const real = client.transaction.bind(store.client);
  client.transaction = (fn) =>
    real((tx) => {
      const statements: string[] = [];
      log.push(statements);
      return fn({
        query: (sql, params, options) => {
          statements.push(sql);
          return tx.query(sql, params, options);
        },
      });
    });
  return log;
}

/** How many SAVEPOINT statements each logged transaction issued. */
export const savepointsPerTransaction = (log: TransactionLog): number[] => log.map((statements) => statements.filter((s) => /^\s*SAVEPOINT\b/i.test(s)).length);
