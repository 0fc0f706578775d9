import { isCheckpointConflict } from '../core/errors.js';
import type { RecordedEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { GenerationChanged } from './checkpoint-keeper.js';
import type { ConsumerTx, DeadLetter } from './consumer-storage.js';
import type { DeliveryHost } from './delivery-host.js';
import { lazySavepoint } from './lazy-savepoint.js';

/**
 * Savepoints one transaction may hold: PostgreSQL keeps 64 subtransaction ids per backend in
 * shared memory (PGPROC_MAX_CACHED_SUBXIDS); past that the transaction is "suboverflowed" and
 * every other session's snapshot checks go to pg_subtrans while it stays open.
 */
export const MAX_SAVEPOINTS_PER_TRANSACTION = 64;

/** A handler threw in a batch delivered without savepoints: the batch rolls back and is delivered again without it. */
class HandlerFailed extends Error {
  constructor(
    readonly eventId: string,
    readonly error: unknown,
  ) {
    super('a handler failed; the batch is delivered again without it');
  }
}

/**
 * Handles one page in transactions that end with the checkpoint (at `end` for the last, or, on
 * `stop()`, at the last event handled): the delivery of subscriptions whose handlers write
 * through `sql`. Two strategies, both of which never run a handler with effects twice:
 *
 * - Guarded (subscriptions): a handler runs under a savepoint, taken lazily when it first uses
 *   `sql` (`lazySavepoint`); one that throws has only its own writes (and its inbox row) undone,
 *   the event is written as a `retrying` dead letter, and the batch goes on, so the events before
 *   it are never handled twice and commit with the rest. A handler that writes nothing (an
 *   email) pays no round trip. A transaction ends after its 64th savepoint
 *   (`MAX_SAVEPOINTS_PER_TRANSACTION`), committing what it handled with the checkpoint, and the
 *   page goes on in a new one: a batch never makes a transaction suboverflowed.
 * - Replaying (`host.replayOnFailure`, projections on SQL stores): no savepoint at all. A handler
 *   that throws rolls the whole transaction back; the page is delivered again with the events
 *   before it handled a second time, the failing one written as a dead letter with its first
 *   error, and the rest. That is only safe because a projection's handlers have no effect outside
 *   the transaction: the rolled-back run left nothing behind. A batch with f failing events costs
 *   f rollbacks and re-runs; a batch with none costs nothing more than one statement per write.
 *
 * Why the checkpoint may pass an event that is not handled: in the transaction that moves the
 * checkpoint past an event, that event is either handled (its effects commit there) or written
 * as a row of the dead-letter table (`retrying`, `dead`, or `parked` behind one of those, in
 * log order). A crash therefore resumes from the checkpoint with every unhandled event on
 * record; `start()` reloads the rows, keeps their streams parked and resumes the retries, and
 * a stream's rows are drained in log order only, so nothing is lost and one stream's order holds.
 *
 * Figures (`bench/catch-up.ts`: catch-up of 20,000 events by a projection with one upsert per
 * event, batches of 100; medians of three interleaved runs on a shared 2-core machine once its
 * load had dropped; nine earlier runs under a load of 10-15 put all three within noise):
 *
 *                                  PostgreSQL      PGlite          statements per event
 *   before the savepoints 4500610  4,614 events/s  2,561 events/s  1.01
 *   a savepoint per event b984500  2,926 events/s  2,021 events/s  2.01
 *   replaying (this)               5,651 events/s  2,631 events/s  1.01
 *
 * The statement count does not move with the load: the rate follows it.
 *
 * @example
 * await deliverInTransaction(host, page.events, page.position)
 */
export async function deliverInTransaction(host: DeliveryHost, events: RecordedEvent[], end: bigint): Promise<void> {
  const { drain } = host;
  // Streams that failed in this page: their later events park here already.
  const failing = new Set<string>();
  // Replaying: the events that threw in a rolled-back run, and their errors.
  const threw = new Map<string, unknown>();
  let from = 0;
  let stopped = false;
  do {
    const failed: Array<{ letter: DeadLetter; error: unknown }> = [];
    const failingNow = new Set(failing);
    let next = events.length;
    const run = async (tx: ConsumerTx): Promise<bigint> => {
      let done = host.position();
      let savepoints = 0;
      for (let i = from; i < events.length; i++) {
        const stored = events[i]!;
        if (host.isStopping()) {
          stopped = true;
          return done;
        }
        if (drain.blocked.has(stored.streamId) || failingNow.has(stored.streamId)) {
          await drain.park(tx, stored);
        } else {
          const error = threw.has(stored.id) ? { error: threw.get(stored.id) } : await handleOne(host, tx, stored, (taken) => (savepoints += taken ? 1 : 0));
          if (error) {
            failed.push({ letter: await drain.recordFailure(tx, stored, error.error), error: error.error });
            failingNow.add(stored.streamId);
          }
        }
        done = host.positionOf(stored);
        if (savepoints >= MAX_SAVEPOINTS_PER_TRANSACTION && i + 1 < events.length) {
          next = i + 1;
          return done;
        }
      }
      return end;
    };
    try {
      await host.commit(run, () => {
        for (const { letter, error } of failed) drain.held(letter, error);
      });
    } catch (error) {
      if (!(error instanceof HandlerFailed)) throw error;
      threw.set(error.eventId, error.error);
      stopped = false;
      continue;
    }
    for (const streamId of failingNow) failing.add(streamId);
    from = next;
  } while (from < events.length && !stopped);
}

/**
 * Runs one handler in `tx`; returns its error when it threw and its writes were undone (guarded),
 * or throws `HandlerFailed` to roll the batch back (replaying). `counted` hears whether it took a savepoint.
 */
async function handleOne(host: DeliveryHost, tx: ConsumerTx, stored: RecordedEvent, counted: (took: boolean) => void): Promise<{ error: unknown } | undefined> {
  const passOn = (error: unknown): boolean => error instanceof GenerationChanged || isCheckpointConflict(error);
  if (host.replayOnFailure) {
    try {
      await host.handle(tx, stored, 1);
      return undefined;
    } catch (error) {
      if (passOn(error)) throw error;
      throw new HandlerFailed(stored.id, error);
    }
  }
  if (!tx.sql) {
    // The memory store: its savepoint is a mark in a list, no round trip to save.
    await tx.savepoint();
    try {
      await host.handle(tx, stored, 1);
      return undefined;
    } catch (error) {
      if (passOn(error)) throw error;
      await tx.rollbackToSavepoint();
      return { error };
    }
  }
  const guard = lazySavepoint(tx as ConsumerTx & { sql: SqlQueryable });
  try {
    await host.handle(guard.tx, stored, 1);
    return undefined;
  } catch (error) {
    if (passOn(error)) throw error;
    await guard.undo();
    return { error };
  } finally {
    counted(guard.taken);
  }
}
