/** Records the statements of every transaction a SQL store's client runs, to count savepoints. */
import type { EventStore } from '../../src/core/event-store.js';
import { sqlAccess, type SqlClient } from '../../src/store/sql-access.js';

/** One entry per transaction, in the order they began: its statements' text. */
export type TransactionLog = string[][];

/**
 * Wraps the store's `client.transaction` so each transaction's statements are logged, the real
 * transaction running underneath (consumer storage opens its transactions there). Returns the
 * log; the wrapper stays until the store closes.
 */
export function logTransactions(store: EventStore): TransactionLog {
  const log: TransactionLog = [];
  const client = sqlAccess(store)!.client as { transaction: SqlClient['transaction'] };
  const real = client.transaction.bind(client);
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

/** How many SAVEPOINT statements each logged transaction sent. */
export const savepointsPerTransaction = (log: TransactionLog): number[] => log.map((statements) => statements.filter((s) => /^\s*SAVEPOINT\b/i.test(s)).length);

/** All SAVEPOINT statements of the log. */
export const savepoints = (log: TransactionLog): number => savepointsPerTransaction(log).reduce((a, b) => a + b, 0);
