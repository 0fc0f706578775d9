/**
 * PGlite is one session guarded by a mutex, and a `Subscription` handler runs inside the
 * subscription's transaction. A handler that appends to the same store (a step running a command does)
 * would queue its append behind the very transaction it runs in, and wait for ever. This wrapper
 * makes the PGlite instance re-entrant:
 * a query or a transaction started from inside a transaction's async context joins that
 * transaction, fenced by a SAVEPOINT so that a refused append (a version conflict that
 * `handleCommand` retries) undoes only itself. On PGlite the step, its inbox row and the
 * checkpoint then commit together, which is the strongest outcome one session can give.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { QueryOptions } from '../sql/sql-client.js';
import type { PGliteLike } from './pglite-client.js';

type Rows<R> = Promise<{ rows: R[] }>;
interface TxLike {
  query<R>(sql: string, params?: unknown[], options?: QueryOptions): Rows<R>;
}

/** One open top-level transaction: its PGlite handle, and a queue that keeps savepoints nested. */
interface OpenTx {
  tx: TxLike;
  closed: boolean;
  tail: Promise<unknown>;
  savepoints: number;
}

/** Where the current async context stands: inside a transaction, and maybe inside one of its sections. */
interface Context {
  open: OpenTx;
  /** True inside a nested transaction: it holds the queue already, so its queries go straight through. */
  inSection: boolean;
}

/** Wraps a PGlite instance so that work started inside one of its transactions joins it. */
export function reentrantPGlite(db: PGliteLike): PGliteLike {
  const als = new AsyncLocalStorage<Context>();

  /** Runs `fn` after everything queued on the transaction before it. */
  const queued = <T>(open: OpenTx, fn: () => Promise<T>): Promise<T> => {
    const result = open.tail.then(fn, fn);
    open.tail = result.catch(() => undefined);
    return result;
  };

  /** `fn` inside a savepoint of the open transaction: a failure undoes only what `fn` did. */
  const fenced = async <T>(open: OpenTx, fn: () => Promise<T>): Promise<T> => {
    const name = `reentrant_${++open.savepoints}`;
    await open.tx.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await open.tx.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      await open.tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await open.tx.query(`RELEASE SAVEPOINT ${name}`);
      throw error;
    }
  };

  const query = <R>(sql: string, params?: unknown[], options?: QueryOptions): Rows<R> => {
    const ctx = als.getStore();
    if (!ctx || ctx.open.closed) return db.query<R>(sql, params, options) as Rows<R>;
    if (ctx.inSection) return ctx.open.tx.query<R>(sql, params, options);
    const open = ctx.open;
    return queued(open, () => (open.closed ? (db.query<R>(sql, params, options) as Rows<R>) : fenced(open, () => open.tx.query<R>(sql, params, options))));
  };

  const transaction = <T>(fn: (tx: TxLike) => Promise<T>): Promise<T> => {
    const ctx = als.getStore();
    if (ctx && !ctx.open.closed) {
      const open = ctx.open;
      const direct: TxLike = { query: (sql, params, options) => open.tx.query(sql, params, options) };
      const section = () => fenced(open, () => als.run({ open, inSection: true }, () => fn(direct)));
      return ctx.inSection ? section() : queued(open, () => (open.closed ? transaction(fn) : section()));
    }
    return db.transaction(async (tx) => {
      const open: OpenTx = { tx, closed: false, tail: Promise.resolve(), savepoints: 0 };
      // The transaction's own queries take their turn with the joined ones.
      const own: TxLike = { query: (sql, params, options) => queued(open, () => tx.query(sql, params, options)) };
      const close = () => queued(open, async () => void (open.closed = true));
      try {
        const result = await als.run({ open, inSection: false }, () => fn(own));
        await close();
        return result;
      } catch (error) {
        await close();
        throw error;
      }
    });
  };

  return {
    query,
    transaction,
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    get closed() {
      return db.closed ?? false;
    },
  };
}
