import type { SqlQueryable } from '../core/sql-queryable.js';
import type { ConsumerTx } from './consumer-storage.js';

const SAVEPOINT = /^\s*savepoint\b/i;

/**
 * One handler run's share of its batch's transaction, guarded by a savepoint taken only when the
 * handler first writes: its first statement through `sql`, which is also the session its
 * `context.append` and `context.store` append on (so those appends are inside the savepoint too).
 * A handler whose effects are elsewhere (an email, a broker) costs no round trip and opens no
 * subtransaction. Its inbox row is written before the handler, outside the savepoint, so `undo`
 * deletes it instead (`forgetInbox`): the retry must not take the event for a duplicate.
 *
 * The savepoint is not released after success: a RELEASE would cost the round trip saved here,
 * and a released subtransaction keeps its xid in the backend's cache all the same, so only
 * ending the transaction bounds that (`savepoints`, see `deliverInTransaction`).
 *
 * On the memory store (no `sql`) nothing is taken: a failed handler's appends are a draft that is
 * dropped, and its inbox row is the only write to undo.
 *
 * @example
 * const guard = new LazySavepoint(tx)
 * try { await host.handle(tx, event, 1, guard) } catch (error) { await guard.undo() }
 */
export class LazySavepoint {
  /** The transaction's session as the handler and its appends use it (none on the memory store). */
  readonly sql?: SqlQueryable;
  /** SAVEPOINT statements sent through `sql` so far: the guard's own and those of the handler's appends. */
  savepoints = 0;
  private taking?: Promise<unknown>;
  private readonly inboxRows: Array<[string, string]> = [];

  constructor(private readonly tx: ConsumerTx) {
    const session = tx.sql;
    if (!session) return;
    this.sql = {
      query: async (text, params, options) => {
        // Statements started together still share one savepoint, taken before the first of them.
        if (!this.taking) {
          this.savepoints++;
          this.taking = session.query('SAVEPOINT factum_handler');
        }
        await this.taking;
        if (SAVEPOINT.test(text)) this.savepoints++;
        return session.query(text, params, options);
      },
    };
  }

  /** `recordInbox` of the transaction, remembering the rows `undo` must forget. */
  async recordInbox(consumer: string, messageId: string): Promise<boolean> {
    const recorded = await this.tx.recordInbox(consumer, messageId);
    if (recorded) this.inboxRows.push([consumer, messageId]);
    return recorded;
  }

  /** The handler threw: back to the savepoint (if one was taken), and its inbox rows forgotten. */
  async undo(): Promise<void> {
    if (this.taking && this.tx.sql) {
      // A savepoint that could not be taken throws here: the transaction is unusable, the batch fails whole.
      await this.taking;
      // The latest savepoint of that name: the ones a handler's appends take come and go inside it.
      await this.tx.sql.query('ROLLBACK TO SAVEPOINT factum_handler');
    }
    for (const [consumer, messageId] of this.inboxRows) await this.tx.forgetInbox(consumer, messageId);
  }
}
