import { isCheckpointConflict } from '../core/errors.js';
import type { RecordedEvent } from '../core/message.js';
import { GenerationChanged } from './checkpoint-keeper.js';
import type { ConsumerTx, DeadLetter } from './consumer-storage.js';
import type { DeliveryHost } from './delivery-host.js';
import { LazySavepoint } from './lazy-savepoint.js';

/**
 * Savepoints one transaction may hold: PostgreSQL keeps 64 subtransaction ids per backend in
 * shared memory (PGPROC_MAX_CACHED_SUBXIDS); past that the transaction is "suboverflowed" and
 * every other session's snapshot checks go to pg_subtrans while it stays open.
 */
export const MAX_SAVEPOINTS_PER_TRANSACTION = 64;

/** A handler threw in a page delivered without savepoints: the transaction rolls back and the page is delivered again. */
class HandlerFailed extends Error {
  constructor(
    readonly eventId: string,
    readonly error: unknown,
  ) {
    super('a handler failed; the page is delivered again without it');
  }
}

/** Errors that end the delivery instead of failing one event: a rebuild's swap, a lost checkpoint race. */
const passOn = (error: unknown): boolean => error instanceof GenerationChanged || isCheckpointConflict(error);

/**
 * Handles one page in transactions that end with the checkpoint (at `end` for the last, or, on
 * `stop()`, at the last event handled): the delivery of subscriptions whose handlers write
 * through `sql`. Two ways, neither of which runs a handler with effects twice:
 *
 * - Guarded (subscriptions): a handler runs under a savepoint taken lazily, at its first
 *   statement through `sql` or its first append (`LazySavepoint`); one that throws has only its
 *   own writes, appends and inbox row undone, the event is written as a `retrying` dead letter,
 *   and the page goes on, so the events before it are never handled twice and commit with the
 *   rest. A handler that writes nothing (an email) pays no round trip. A transaction ends once
 *   its handlers have taken `MAX_SAVEPOINTS_PER_TRANSACTION` savepoints (their appends' own
 *   included), committing what it handled with the checkpoint, and the page goes on in a new one.
 * - Replaying (`host.replayOnFailure`, projections on SQL stores): no savepoint at all. A handler
 *   that throws rolls the whole transaction back; the page is delivered again, the events before
 *   it handled a second time, the failing one written as a dead letter with its first error (its
 *   retries then go the guarded way's, on timers), and the rest after it. That is only safe
 *   because a projection's handlers have no effect outside the transaction: the rolled-back run
 *   left nothing behind. A page with f failing events costs f rollbacks and re-runs; one without
 *   costs nothing beyond the handlers' own statements.
 *
 * Why the checkpoint may pass an event that is not handled: in the transaction that moves the
 * checkpoint past an event, that event is either handled (its effects commit there) or written
 * as a row of the dead-letter table (`retrying`, `dead`, or `parked` behind one of those, in
 * log order). A crash therefore resumes from the checkpoint with every unhandled event on
 * record; `start()` reloads the rows, keeps their streams parked and resumes the retries, and
 * a stream's rows are drained in log order only, so nothing is lost and one stream's order holds.
 *
 * Figures (`bench/catch-up.ts`: catch-up of 20,000 events by a projection with one upsert per
 * event, batches of 100, on a shared 2-core machine): a savepoint per event took the statements
 * per event from 1.01 to 2.01, and replaying is back to 1.01, a count the machine's load does not
 * move. The rate follows it when the machine is quiet: on PostgreSQL about 4,600 events/s before
 * the savepoints, 2,900 with them and 5,650 replaying (PGlite in memory 2,560, 2,020 and 2,630;
 * medians of three interleaved runs of branch `delivery`, 74ef010). Under a load average of
 * 14-23, savepoints against replaying, medians of three interleaved rounds, twice: PostgreSQL
 * 1,141 / 1,004 and 1,093 / 1,617 events/s, PGlite on disk 508 / 517 and 745 / 990: noise.
 *
 * @example
 * await deliverInTransaction(host, page.events, page.position)
 */
export async function deliverInTransaction(host: DeliveryHost, events: RecordedEvent[], end: bigint): Promise<void> {
  const { drain } = host;
  // Streams that failed in a committed transaction of this page: their later events park.
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
          const failure = threw.has(stored.id) ? { error: threw.get(stored.id) } : host.replayOnFailure ? await handleReplaying(host, tx, stored) : await handleGuarded(host, tx, stored, (taken) => (savepoints += taken));
          if (failure) {
            failed.push({ letter: await drain.recordFailure(tx, stored, failure.error), error: failure.error });
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
      continue;
    }
    for (const streamId of failingNow) failing.add(streamId);
    from = next;
  } while (from < events.length && !stopped);
}

/** Runs the handler under a lazy savepoint; returns its error once its writes are undone. `took` hears how many savepoints it cost. */
async function handleGuarded(host: DeliveryHost, tx: ConsumerTx, stored: RecordedEvent, took: (savepoints: number) => void): Promise<{ error: unknown } | undefined> {
  const guard = new LazySavepoint(tx);
  try {
    await host.handle(tx, stored, 1, guard);
    return undefined;
  } catch (error) {
    if (passOn(error)) throw error;
    await guard.undo();
    return { error };
  } finally {
    took(guard.savepoints);
  }
}

/** Runs the handler without a savepoint; when it throws, so does the transaction (`HandlerFailed`). */
async function handleReplaying(host: DeliveryHost, tx: ConsumerTx, stored: RecordedEvent): Promise<undefined> {
  try {
    await host.handle(tx, stored, 1);
    return undefined;
  } catch (error) {
    if (passOn(error)) throw error;
    throw new HandlerFailed(stored.id, error);
  }
}
