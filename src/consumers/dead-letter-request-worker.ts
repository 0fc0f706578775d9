import { hasCode } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { DeadLetter } from './consumer-storage.js';
import type { DrainResult } from './dead-letter-drain.js';
import { ABANDONED_CLAIM_MS, DeadLetterRequests, type DeadLetterRequest } from './dead-letter-requests.js';

/** Old outcomes are removed at an owner's first poll, then hourly. */
const PRUNE_EVERY_MS = 3600_000;

/** What carrying out a request needs from its runner. */
export interface DeadLetterRequestHost {
  /** The runner's `retryDeadLetter` by dead-letter row id. */
  retry(deadLetterId: string): Promise<DrainResult>;
  /** The stream's dead letter was skipped in the database: let what is parked behind it flow. */
  resume(streamId: string): Promise<DrainResult>;
  /** The stream's letters now, first the one that holds it (to report why a request failed). */
  letters(streamId: string): Promise<DeadLetter[]>;
  /** Whether this instance runs `streamId` (a partition runs some streams only). */
  covers(streamId: string): boolean;
  reportError(error: unknown): void;
}

/**
 * The owner's side of `DeadLetterRequests`: every `pollMs` while its runner runs, it claims the
 * pending requests for its runner's streams and carries them out with the runner's own drain
 * (the handler lives here), then records the outcome for the operator who asked; it renews its
 * claim while it works and takes over requests whose owner died mid-way. One query per poll
 * when there is nothing to do; outcomes older than 7 days are removed hourly. On the memory store there is no table: `for`
 * returns undefined, and retry and skip stay calls from code.
 *
 * @example
 * const worker = DeadLetterRequestWorker.for(store, 'order-emails', 1000, host)
 * worker?.start()
 * await worker?.stop()
 */
export class DeadLetterRequestWorker {
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private stopped = false;

  private constructor(
    private readonly requests: DeadLetterRequests,
    private readonly subscription: string,
    private readonly pollMs: number,
    private readonly host: DeadLetterRequestHost,
  ) {}

  /** The worker for `subscription`'s dead letters, or undefined on a store without tables. */
  static for(store: EventStore, subscription: string, pollMs: number, host: DeadLetterRequestHost): DeadLetterRequestWorker | undefined {
    const requests = DeadLetterRequests.of(store);
    return requests ? new DeadLetterRequestWorker(requests, subscription, pollMs, host) : undefined;
  }

  /** Looks now (requests made while the owner was down), then every `pollMs`. */
  start(): void {
    this.stopped = false;
    this.next(0);
  }

  /** No new poll; the request in hand finishes (the drain stops between two events when its runner stops). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  private next(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch((error: unknown) => this.pollFailed(error))
        .finally(() => this.next(this.pollMs));
    }, ms);
    // The owner's runner keeps the process alive, not its request polling.
    this.timer.unref();
  }

  private disabled = false;

  private pollFailed(error: unknown): void {
    // A schema from before migration 009 has no request table: nobody can ask, so stop looking.
    if ((error as { cause?: { code?: unknown } })?.cause?.code === '42P01' || (error as { code?: unknown })?.code === '42P01') {
      this.disabled = true;
      this.stopped = true;
      return;
    }
    this.host.reportError(error);
  }

  private async poll(): Promise<void> {
    if (this.disabled) return;
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      await this.requests.prune();
    }
    for (const request of await this.requests.pending(this.subscription)) {
      if (this.stopped) return;
      if (!this.host.covers(request.streamId) || !(await this.requests.claim(request.id))) continue;
      // Renewed while it runs (a long drain), so that only a crashed owner's claim is taken over.
      const renewal = setInterval(() => void this.requests.renew(request.id).catch(() => {}), Math.min(this.pollMs, ABANDONED_CLAIM_MS / 4));
      try {
        await this.carryOut(request);
      } finally {
        clearInterval(renewal);
      }
    }
  }

  /** When this worker last removed old outcomes (0: at its first poll). */
  private prunedAt = 0;

  private async carryOut(request: DeadLetterRequest): Promise<void> {
    let result: DrainResult;
    try {
      result = request.action === 'retry' ? await this.host.retry(request.deadLetterId) : await this.host.resume(request.streamId);
    } catch (error) {
      if (request.action === 'retry' && hasCode(error, 'DEAD_LETTER_NOT_FOUND')) {
        // Handled since it was asked for (from code, or by a drain that a stop cut short and
        // handed back): what may still be parked behind it is what is left to do.
        result = await this.released(request, () => this.host.resume(request.streamId));
      } else {
        // Not the handler's failure (a drain records those): the database went away, or the
        // runner is stopping. Handed back, so the next poll or the next owner does it.
        await this.requests.release(request.id).catch(() => {});
        throw error;
      }
    }
    // The runner stopped mid-drain (its drain ends between two events, or before the first):
    // what is left is not an outcome, so the request waits for the next start.
    if (result.remaining > 0 && this.stopped) return this.requests.release(request.id);
    // What holds the stream now: the letter that failed again (or, none: a drain cut short).
    const holder = result.remaining > 0 ? (await this.host.letters(request.streamId)).find((l) => l.status !== 'parked') : undefined;
    if (result.remaining > 0 && !holder) return this.requests.release(request.id);
    await this.requests.complete(request.id, result, holder);
  }

  /** `work`, handing the request back if it throws. */
  private async released(request: DeadLetterRequest, work: () => Promise<DrainResult>): Promise<DrainResult> {
    try {
      return await work();
    } catch (error) {
      await this.requests.release(request.id).catch(() => {});
      throw error;
    }
  }
}
