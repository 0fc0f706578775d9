/** Least time between two wake-up NOTIFYs of one store object (the first one is sent at once). */
const SPACING_MS = 5;

/**
 * Decides which appends tell subscribers in other processes that the log grew (a NOTIFY on
 * the store's `appendChannel`, see sql-names.ts), so that a burst of appends sends a few
 * NOTIFYs instead of one each.
 *
 * The first append after a quiet spell of SPACING_MS carries the NOTIFY in its own
 * transaction: PostgreSQL delivers it at commit, after everything that committed before.
 * Appends in between carry none; the next carrier covers them, and when no carrier follows
 * (the burst ended) one NOTIFY of its own is sent SPACING_MS later. Sending one NOTIFY per
 * append, each in a transaction of its own, cost about a tenth of append throughput; a NOTIFY
 * in every append would serialise all commits on PostgreSQL's notify queue lock (measured:
 * 16 writers fell to a quarter of the raw insert rate). A lost NOTIFY only costs latency:
 * subscribers also poll.
 */
export class WakeUps {
  private lastCarrier = Number.NEGATIVE_INFINITY;
  /** Appends committed since the last carrier started, not covered by any NOTIFY yet. */
  private uncovered = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly notifyAlone: () => Promise<unknown>) {}

  /** Called as an append starts: true if this one carries the NOTIFY. */
  carry(): boolean {
    const now = performance.now();
    if (now - this.lastCarrier < SPACING_MS) return false;
    this.lastCarrier = now;
    // Everything committed before this moment is covered by this carrier's commit.
    this.uncovered = false;
    return true;
  }

  /** Called as an append ends: `committed` if it wrote events (its NOTIFY, if it carried one, went out). */
  ended(carried: boolean, committed: boolean): void {
    if (carried === committed) return;
    // A carrier that failed took its NOTIFY with it: the next append carries one again.
    if (carried) this.lastCarrier = Number.NEGATIVE_INFINITY;
    this.uncovered = true;
    this.arm();
  }

  /** Checks SPACING_MS later: still uncovered, and no carrier since (the burst ended), then one NOTIFY. */
  private arm(): void {
    if (this.timer) return;
    const armedAt = performance.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.uncovered) return;
      // Appends go on: the next carrier covers what ended since; look again later.
      if (this.lastCarrier > armedAt) return this.arm();
      this.uncovered = false;
      this.notifyAlone().catch(() => undefined);
    }, SPACING_MS + 1).unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
