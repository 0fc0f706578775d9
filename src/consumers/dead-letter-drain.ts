import { FactumError } from '../core/errors.js';
import type { RecordedEvent } from '../core/message.js';
import type { ConsumerStorage, ConsumerTx, DeadLetter } from './consumer-storage.js';
import { failureOf } from './failure-of.js';
import type { Mutex } from './mutex.js';
import { retryDelays, type RetryPolicy } from '../core/retry-policy.js';

/** What `retryDeadLetter` and `skipDeadLetter` did. */
export interface DrainResult {
  /** Events handled now (the dead letter, then the parked ones in order). */
  handled: number;
  /** Letters of the stream still held (a parked event failed again and is now the dead letter). */
  remaining: number;
}

/** What the drain needs from its subscription. */
export interface DrainHost {
  /** True once the subscription stops: no retry starts, a drain ends between two letters. */
  isStopping(): boolean;
  /** Handles the letter's event as attempt `attempt` (unless `handle` is false) and removes its row. */
  deliver(letter: DeadLetter, attempt: number, handle: boolean): Promise<void>;
  positionOf(event: RecordedEvent): bigint;
  /** A failed attempt, recorded: report it. */
  failed(letter: DeadLetter, error: unknown): void;
  /** An error that is not an attempt's (the database went away while draining). */
  reportError(error: unknown, event: RecordedEvent): void;
  /** Which events count as handled changed: waiters should look again. */
  changed(): void;
}

/**
 * The streams of one subscription that wait behind a failed event, and the work that frees
 * them: the retries of `retrying` events on timers (the policy's delay for each attempt, counted
 * from the last failure, so a restart goes on where a crash left off), `retryDeadLetter` and
 * `skipDeadLetter` for `dead` ones, and then the events parked behind them, in log order, each
 * in its own transaction with the removal of its row. All of it runs under the subscription's
 * lock, between two of its batches.
 *
 * @example
 * const drain = new DeadLetterDrain(storage, 'order-emails', retryPolicy, lock, host)
 * await drain.load(() => true) // after a restart: blocked streams, and their retries armed again
 */
export class DeadLetterDrain {
  /** Streams held behind a dead or retrying event. */
  blocked = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Per stream with retries under way, the position of its first unhandled event. */
  private readonly pendingFrom = new Map<string, bigint>();

  constructor(
    private readonly storage: ConsumerStorage,
    private readonly subscription: string,
    private readonly retry: RetryPolicy | undefined,
    private readonly lock: Mutex,
    private readonly host: DrainHost,
  ) {}

  /**
   * The status of an event after its `attempts`-th failure: `retrying` while the policy allows
   * another attempt, else `dead` (at once for an event that cannot be upcast: no retry changes the code).
   */
  statusAfter(attempts: number, error: unknown): 'retrying' | 'dead' {
    return attempts <= retryDelays(this.retry).length && (error as { code?: unknown })?.code !== 'UPCAST_FAILED' ? 'retrying' : 'dead';
  }

  /** Parks `event` in `tx` behind the failed event of its stream. */
  async park(tx: ConsumerTx, event: RecordedEvent): Promise<void> {
    await tx.addDeadLetter(this.subscription, 'parked', event);
  }

  /** Records the first failure of `event` in `tx` (see `statusAfter`); `held` takes it from there once `tx` commits. */
  async recordFailure(tx: ConsumerTx, event: RecordedEvent, error: unknown): Promise<DeadLetter> {
    const now = new Date();
    const failure = failureOf(error, 1, now, now);
    const status = this.statusAfter(1, error);
    await tx.addDeadLetter(this.subscription, status, event, failure);
    return { id: '', subscription: this.subscription, status, streamId: event.streamId, globalPosition: event.globalPosition, event, error: failure.error, attempts: 1, firstFailedAt: now, lastFailedAt: now };
  }

  /**
   * After the commit that recorded `letter`: its stream is blocked, the failure reported
   * (after the commit: on PGlite, an `onError` that queries the store would wait behind the
   * transaction) and its retry armed.
   */
  held(letter: DeadLetter, error: unknown): void {
    this.blocked.add(letter.streamId);
    this.host.failed(letter, error);
    this.schedule(letter);
  }

  /** Reloads the blocked streams (those `covers` accepts) and arms the retries under way. */
  async load(covers: (streamId: string) => boolean): Promise<void> {
    const heads = new Map<string, DeadLetter>();
    for (const letter of await this.storage.listDeadLetters(this.subscription)) {
      if (covers(letter.streamId) && !heads.has(letter.streamId)) heads.set(letter.streamId, letter);
    }
    this.blocked = new Set(heads.keys());
    for (const head of heads.values()) this.schedule(head);
  }

  /** `position`, or just before the first event still in retry if that comes first. */
  handledUpTo(position: bigint): bigint {
    for (const from of this.pendingFrom.values()) if (from - 1n < position) position = from - 1n;
    return position;
  }

  /**
   * Arms the retry of a blocked stream whose first letter is `retrying` (after the policy's
   * delay for its attempt, counted from its last failure) or `parked` (a crash between two
   * drained letters: at once). A `dead` letter waits for `retryDeadLetter` or `skipDeadLetter`.
   */
  schedule(first: DeadLetter): void {
    if (first.status === 'dead') {
      this.pendingFrom.delete(first.streamId);
      this.host.changed();
      return;
    }
    this.pendingFrom.set(first.streamId, this.host.positionOf(first.event));
    if (this.host.isStopping()) return;
    const delays = retryDelays(this.retry);
    const delay = first.status === 'parked' ? 0 : (delays[first.attempts - 1] ?? 0) - (Date.now() - (first.lastFailedAt?.getTime() ?? Date.now()));
    clearTimeout(this.timers.get(first.streamId));
    const timer = setTimeout(() => {
      this.timers.delete(first.streamId);
      this.lock
        .run(async () => {
          if (this.host.isStopping()) return;
          const letters = await this.storage.listDeadLetters(this.subscription, { streamId: first.streamId });
          if (letters.length > 0 && letters[0]!.status !== 'dead') await this.drain(letters, false);
        })
        .catch((error: unknown) => {
          // The database went away: the rows are still there; try again later.
          this.host.reportError(error, first.event);
          this.schedule({ ...first, lastFailedAt: new Date() });
        });
    }, Math.max(0, delay));
    this.timers.set(first.streamId, timer);
  }

  /** Retries (or skips) the dead letter `id`, then the events parked behind it, in order. */
  retryDeadLetter(id: string, skip: boolean): Promise<DrainResult> {
    return this.lock.run(async () => {
      const all = await this.storage.listDeadLetters(this.subscription);
      const target = all.find((d) => d.id === id && d.status === 'dead');
      if (!target) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter "${id}" for subscription "${this.subscription}"`, { details: { id } });
      clearTimeout(this.timers.get(target.streamId));
      this.timers.delete(target.streamId);
      return this.drain(
        all.filter((d) => d.streamId === target.streamId),
        skip,
      );
    });
  }

  /**
   * Looks at one stream again after its rows changed behind this drain's back (an operator
   * skipped its dead letter in the database, see `DeadLetterRequests.skip`): what is parked now
   * is drained in order, a letter that still fails is armed again, and a stream with no rows left
   * is free (an event of it parked meanwhile, behind nothing, is drained here too).
   */
  resume(streamId: string): Promise<DrainResult> {
    return this.lock.run(async () => {
      const letters = await this.storage.listDeadLetters(this.subscription, { streamId });
      const first = letters[0];
      if (!first) {
        this.blocked.delete(streamId);
        this.pendingFrom.delete(streamId);
        this.host.changed();
        return { handled: 0, remaining: 0 };
      }
      this.blocked.add(streamId);
      if (first.status !== 'parked') {
        this.schedule(first);
        return { handled: 0, remaining: letters.length };
      }
      clearTimeout(this.timers.get(streamId));
      this.timers.delete(streamId);
      return this.drain(letters, false);
    });
  }

  /** Disarms every retry (the rows stay: the next start arms them again). */
  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * Handles the letters of one stream in log order (the first one dropped unhandled when
   * `skipFirst`). The first that fails is retried later while the policy allows, else it is
   * `dead`; the rest stay parked. Once the list is done the stream's rows are read again: a
   * broker consumer in another process may have parked a message behind them meanwhile (its
   * check and this drain's deliveries take the key's lock), and it must not stay parked with
   * nothing ahead of it.
   */
  private async drain(letters: DeadLetter[], skipFirst: boolean): Promise<DrainResult> {
    let handled = 0;
    const streamId = letters[0]?.streamId;
    while (letters.length > 0) {
      for (const [i, letter] of letters.entries()) {
        if (this.host.isStopping()) return { handled, remaining: letters.length - i };
        const handleIt = !(skipFirst && i === 0);
        const attempt = letter.attempts + 1;
        try {
          await this.host.deliver(letter, attempt, handleIt);
          if (handleIt) handled++;
        } catch (error) {
          const now = new Date();
          const failure = failureOf(error, attempt, letter.firstFailedAt ?? now, now);
          const status = this.statusAfter(attempt, error);
          await this.storage.transaction(async (tx) => tx.updateDeadLetter(letter.id, { status, failure }));
          const failed: DeadLetter = { ...letter, status, error: failure.error, attempts: attempt, firstFailedAt: failure.firstFailedAt, lastFailedAt: now };
          this.host.failed(failed, error);
          this.schedule(failed);
          return { handled, remaining: letters.length - i };
        }
      }
      skipFirst = false;
      const drained = new Set(letters.map((l) => l.id));
      letters = (await this.storage.listDeadLetters(this.subscription, { streamId: streamId! })).filter((l) => !drained.has(l.id));
      // Another drain (or a new failure) owns what is there now.
      if (letters[0] && letters[0].status !== 'parked') return { handled, remaining: letters.length };
    }
    if (streamId !== undefined) {
      this.blocked.delete(streamId);
      this.pendingFrom.delete(streamId);
      this.host.changed();
    }
    return { handled, remaining: 0 };
  }
}
