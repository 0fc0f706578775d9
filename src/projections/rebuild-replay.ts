import { sleep } from '../core/sleep.js';
import type { RebuildCopy } from './rebuild-copy.js';

/**
 * The replay phase: fills the copy from the log, one transaction per batch with the copy's
 * checkpoint, until it is close enough to the head to swap. False when `signal` stopped it
 * first (between two batches, so the next rebuild resumes from the checkpoint).
 */
export async function replayIntoCopy(copy: RebuildCopy, signal?: AbortSignal): Promise<boolean> {
  for (;;) {
    if (signal?.aborted) return false;
    if (await replayBatch(copy)) return true;
  }
}

/**
 * One batch into the copy, up to `until` if given, committed with the copy's checkpoint;
 * true when near the head.
 */
export async function replayBatch(copy: RebuildCopy, until?: bigint): Promise<boolean> {
  const from = copy.position;
  const page = await copy.read(from);
  const before = copy.eventsDone;
  try {
    // A copy being rebuilt is re-derivable: the keeper commits it without waiting for the WAL flush.
    await copy.checkpoint.commit((tx) => copy.apply(tx.sql!, page, until));
  } catch (error) {
    copy.eventsDone = before;
    throw error;
  }
  copy.position = copy.checkpoint.checkpoint!.position;
  copy.report('replaying');
  // A hole not yet proven final (an append in flight): look again shortly, never skip it.
  if (copy.position === from) await sleep(10);
  // Close enough to swap: the swap brings the copy to the live checkpoint, so chasing a head
  // that a steady load keeps moving is never needed.
  return page.events.length < copy.batchSize && (page.position === from || page.position >= page.headPosition || page.waitingOn !== undefined);
}
