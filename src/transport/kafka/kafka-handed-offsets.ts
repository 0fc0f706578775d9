/**
 * What a partition's committed offset and its metadata say: the records before `offset` are
 * settled; those from `offset` through `through` may have been handed to a handler, the first of
 * them `attempts` times. A member that takes the partition over after a crash or a rebalance counts
 * the attempts on from there.
 */
export interface HandedCommit {
  offset: bigint;
  attempts: number;
  through: bigint;
}

export const encodeHanded = (commit: HandedCommit): string => `${commit.attempts}:${commit.through}`;

export function decodeHanded(offset: bigint, metadata: string | null | undefined): HandedCommit {
  const match = /^(\d+):(-?\d+)$/.exec(metadata ?? '');
  return match ? { offset, attempts: Number(match[1]), through: BigInt(match[2]!) } : { offset, attempts: 0, through: -1n };
}

/** The attempt a member that takes the partition over with `commit` gives the record at `offset`. */
export function attemptAfter(commit: HandedCommit, offset: bigint): number {
  if (offset === commit.offset) return commit.attempts + 1;
  return offset > commit.offset && offset <= commit.through ? 2 : 1;
}

/**
 * How far past a chunk a commit made before its handler declares records handed. One commit then
 * covers the next records too, so the handler of a record seldom waits for a commit (with a commit
 * per handing, a partition's records were as slow as two commit round trips each). The price: after
 * a crash or a rebalance, the next member counts up to this many records it gets first one attempt
 * too many (2 instead of 1). That is safe: an attempt count matters only against the delivery limit
 * (and the retry delay it picks), so a record may be dead-lettered one attempt early, never retried
 * forever, and no record is lost or reordered by it.
 */
export const HANDED_AHEAD = 100n;

/**
 * One partition's commits for one member and generation, made one at a time and in order (a later
 * one says at least what an earlier one did), the latest wanted replacing one not sent yet. The
 * settled prefix is committed in the background after each handling, off the partition's path;
 * a handler waits for a commit only when no commit that is or may become the group's would count
 * its records as handed (its first record retried, or records past the last commit's reach).
 */
export class HandedOffsets {
  /** The commit the group is known to hold (read at assignment, then each one acknowledged). */
  private acknowledged: HandedCommit;
  /** Sent and not answered yet, and wanted after it: either may still become the group's. */
  private sending: HandedCommit | undefined;
  private queued: { commit: HandedCommit; done: Deferred } | undefined;
  /** The next offset past the settled prefix, how far commits reach, and the times each unsettled record was handed. */
  private settled: bigint;
  private reach: bigint;
  private readonly handed = new Map<bigint, number>();

  constructor(
    assigned: HandedCommit,
    private readonly send: (commit: HandedCommit) => Promise<void>,
    /** Called with each run of sends: a stop waits for them. */
    private readonly track: (running: Promise<void>) => void,
  ) {
    this.acknowledged = assigned;
    this.settled = assigned.offset;
    this.reach = assigned.through;
  }

  /**
   * Before a handler gets `records` (the first is the head of the partition: every record before
   * it is settled), with the attempt each is handed at: commits, and waits, unless every commit
   * that is or may become the group's counts them as handed (beyond the head, at least once, as
   * the metadata can say no more).
   */
  async beforeHandling(records: Array<{ offset: bigint; attempt: number }>): Promise<void> {
    for (const { offset, attempt } of records) this.handed.set(offset, attempt);
    if (records[0]!.offset > this.settled) this.settled = records[0]!.offset;
    const covers = (commit: HandedCommit | undefined) =>
      commit === undefined || records.every(({ offset, attempt }, i) => attemptAfter(commit, offset) >= (i === 0 ? attempt + 1 : 2));
    if (covers(this.acknowledged) && covers(this.sending) && covers(this.queued?.commit)) return;
    const last = records[records.length - 1]!.offset + HANDED_AHEAD;
    if (last > this.reach) this.reach = last;
    await this.want(this.ahead());
  }

  /** The settled prefix ends before `offset` now: committed in the background. */
  settledTo(offset: bigint): void {
    if (offset <= this.settled) return;
    this.settled = offset;
    for (const at of this.handed.keys()) if (at < offset) this.handed.delete(at);
    this.want(this.ahead()).catch(() => {
      // The next commit says the same and more; a member that lost the partition leaves it to the next, from the last commit that succeeded.
    });
  }

  /** On a stop: the exact state (nothing past the records handed), so that the next member counts no attempt too many. */
  async final(): Promise<void> {
    const handedThrough = [...this.handed.keys()].reduce((max, at) => (at > max ? at : max), this.settled - 1n);
    const exact = { offset: this.settled, attempts: this.handed.get(this.settled) ?? 0, through: handedThrough };
    const known = this.queued?.commit ?? this.sending ?? this.acknowledged;
    if (known.offset === exact.offset && known.attempts === exact.attempts && known.through === exact.through) return;
    await this.want(exact);
  }

  /**
   * The commit of the current state that covers what comes next: the head counted as handed at
   * least once (one attempt too many only if a crash comes before it is handed; see `HANDED_AHEAD`).
   */
  private ahead(): HandedCommit {
    return { offset: this.settled, attempts: Math.max(1, this.handed.get(this.settled) ?? 0), through: this.reach };
  }

  /** Queues `commit` (replacing one not sent yet) and resolves once it, or one after it, is acknowledged. */
  private want(commit: HandedCommit): Promise<void> {
    if (this.queued) this.queued.commit = commit;
    else this.queued = { commit, done: deferred() };
    const { promise } = this.queued.done;
    if (this.sending === undefined) this.track(this.sendQueued());
    return promise;
  }

  private async sendQueued(): Promise<void> {
    while (this.queued) {
      const { commit, done } = this.queued;
      this.queued = undefined;
      this.sending = commit;
      try {
        await this.send(commit);
        this.acknowledged = commit;
        done.resolve();
      } catch (error) {
        done.reject(error);
      } finally {
        this.sending = undefined;
      }
    }
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  // A background commit's failure is handled by whoever awaits it, or by nobody (the next commit repeats it).
  promise.catch(() => {});
  return { promise, resolve, reject };
}
