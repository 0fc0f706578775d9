/**
 * Proves which holes in `$all` can never be filled.
 *
 * Positions are drawn from a sequence before commit, so a reader may see position 7 committed
 * while 6 is still open, or rolled back. Every writer of the log holds a write lock on the
 * events table (RowExclusiveLock, taken by its INSERT before the INSERT draws positions, or a
 * stronger one taken explicitly by imports and deletes) until its transaction ends. A reader
 * observes, in this order, the head H of the sequence and the set A of transactions holding
 * such a lock (`log_writers()`). The owner of any position <= H drew it while holding the
 * lock, so at the time of the observation it was in A or had ended.
 * Once every member of A has ended (none of them appears in a later observation), every
 * position <= H is final: present in any later snapshot, or never to appear.
 *
 * Unlike a snapshot's xmin, A holds only transactions that write events: a long report,
 * migration or read-model write elsewhere in the database never holds readers back. A long append does, as
 * lag (`waitingOn`), never as a skip.
 */
export class ReadAllSafety {
  /** Every position up to here is final. Only grows. */
  private settled = 0n;
  /** Observations not yet proven, oldest first; bounded, losing only older (smaller) proofs. */
  private pending: Array<{ head: bigint; appenders: Set<string> }> = [];

  /** Feeds one observation (head read before appenders); returns the settled position. */
  observe(head: bigint, appenders: string[]): bigint {
    const now = new Set(appenders);
    const still: typeof this.pending = [];
    for (const observation of this.pending) {
      const ended = [...observation.appenders].every((vxid) => !now.has(vxid));
      if (ended) {
        if (observation.head > this.settled) this.settled = observation.head;
      } else still.push(observation);
    }
    this.pending = still;
    if (now.size === 0) {
      if (head > this.settled) this.settled = head;
    } else {
      this.pending.push({ head, appenders: now });
      if (this.pending.length > 16) this.pending.shift();
    }
    return this.settled;
  }

}

/**
 * How far a reader may go, given the positions it found after `after` (ascending) and the
 * settled position: on while positions are contiguous or the hole between them is settled.
 * `complete` says the positions are all there are, so settled empty ones past them count too.
 */
export function safeEnd(after: bigint, positions: bigint[], settled: bigint, complete: boolean): { end: bigint; hole?: bigint } {
  let end = after;
  for (const position of positions) {
    if (position > end + 1n && position - 1n > settled) {
      const reached = settled > end ? settled : end;
      return { end: reached, hole: reached + 1n };
    }
    end = position;
  }
  if (complete && settled > end) end = settled;
  return { end };
}
