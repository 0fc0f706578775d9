import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { sqlAccess } from '../store/sql-access.js';
import type { Projection } from './projection.js';
import { RebuildCopy } from './rebuild-copy.js';
import { replayIntoCopy } from './rebuild-replay.js';
import { swapCopyIn } from './rebuild-swap.js';

/** Where a rebuild stands. */
export interface RebuildProgress {
  phase: 'replaying' | 'swapping' | 'done';
  /** Events applied to the fresh copy by this run. */
  eventsDone: number;
  /** Everything up to here is in the fresh copy. */
  position: bigint;
  headPosition: bigint;
  /** Events per second in this run. */
  ratePerSecond: number;
  /** Estimated seconds to reach the head at the current pace (undefined before any progress). */
  etaSeconds?: number;
  /** Where this run began: above 0 when it resumed a rebuild that crashed or was stopped. */
  resumedFrom: bigint;
}

/** Options of `rebuildProjection`. */
export interface RebuildOptions {
  /** Events per transaction; 1,000 by default. */
  batchSize?: number;
  /** Called after each batch, at most every `progressEveryMs` (500 ms by default), and at the end. */
  onProgress?: (progress: RebuildProgress) => void;
  progressEveryMs?: number;
  /** Stops between two transactions; the next call resumes from there. */
  signal?: AbortSignal;
  /**
   * The projection runs inline (`InlineProjections`): its tables are written by appends, with no
   * checkpoint to meet. The swap then locks the tables, which waits out every append that wrote
   * them, and applies the events committed since the copy's last batch inside its own transaction;
   * appends still open write the new tables once the swap commits.
   */
  inline?: boolean;
}

/** What a rebuild did. */
export interface RebuildResult extends RebuildProgress {
  /** False when stopped by `signal` before the swap (call again to resume). */
  swapped: boolean;
}

/**
 * Rebuilds a projection's read model from the log while the old one keeps serving: replays
 * every event into fresh copies of its tables (`<table>__rebuild`), saving its own checkpoint in
 * each batch's transaction (so a crash resumes where it stopped), then swaps the copies in within
 * one transaction. The swap locks the live tables, brings the copy exactly to the live
 * projection's checkpoint (or moves that checkpoint up to the copy's), renames, and bumps the
 * checkpoint's generation so a running `ProjectionRunner` reloads instead of applying anything
 * twice. Inline projections pass `inline: true` (see the option). SQL stores only: the memory
 * store has no tables to copy.
 *
 * @example
 * const result = await rebuildProjection(store, orderTotals, {
 *   onProgress: (p) => console.log(`${p.eventsDone} events, ${p.ratePerSecond.toFixed(0)}/s, ${p.etaSeconds?.toFixed(0)} s left`),
 * })
 */
export async function rebuildProjection(store: EventStore, projection: Projection, options: RebuildOptions = {}): Promise<RebuildResult> {
  // Reads go through `store` (a schema-registered store upcasts); tables through its SQL access.
  const sql = sqlAccess(store);
  if (!sql) throw new FactumError('INVALID_ARGUMENT', 'rebuildProjection needs a SQL store (PostgreSQL or PGlite)');
  const copy = await RebuildCopy.open(store, sql, projection, options);
  if (!(await replayIntoCopy(copy, options.signal))) return { ...copy.progress('replaying'), swapped: false };
  copy.report('swapping', true);
  await swapCopyIn(copy, options.inline ?? false);
  copy.report('done', true);
  return { ...copy.progress('done'), swapped: true };
}
