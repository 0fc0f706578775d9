import type { RecordedEvent } from '../core/message.js';
import { commitSettle, dispatchBatch, planSettle, type BatchHandler } from './deliver-batch.js';
import type { DeliveryHost } from './delivery-host.js';
import type { Mutex } from './mutex.js';

/** A page in flight. */
interface Page {
  size: number;
  /** Its handler's outcomes are in. */
  answered: boolean;
  /** Resolves true once settled up to its end; false when it stopped short, failed, or was dropped. */
  settled: Promise<boolean>;
}

/**
 * Pages handed to a batch handler before the earlier ones are settled: up to `maxInFlight`
 * events at a time, so the next page is read and handed over while the last one waits (a
 * relay: for the broker's confirms). Pages are settled one after another in log order, so the
 * checkpoint only ever moves past a settled prefix of the log, even when a later page's
 * outcomes came first. When a page does not reach its end (an event still pending, or an
 * error), the pages after it are not settled: once they are all back, reading starts again from
 * the checkpoint, and their events are handed over again (at-least-once).
 *
 * @example
 * const pipeline = new BatchPipeline(host, handler, lock, 2000, () => sleeper.wake())
 * await pipeline.ready()
 * pipeline.push(page.events, pipeline.nextRead(), page.position)
 */
export class BatchPipeline {
  private readonly pages: Page[] = [];
  /** Settles in order: each page's settle waits for this, the previous page's. */
  private tail: Promise<boolean> = Promise.resolve(true);
  private inFlight = 0;
  private end?: bigint;
  /** A page stopped short or failed: the ones after it are dropped, and reading starts over. */
  private stale = false;
  private failure?: { error: unknown };

  constructor(
    private readonly host: DeliveryHost,
    private readonly handler: BatchHandler,
    private readonly lock: Mutex,
    readonly maxInFlight: number,
    /** Called when a page could not be settled, so that a sleeping loop looks at once. */
    private readonly onStale: () => void,
  ) {}

  /** Where the next read begins: after the last page in flight, or at the checkpoint. */
  nextRead(): bigint {
    return this.end ?? this.host.position();
  }

  /** Pages handed over and not settled yet. */
  get size(): number {
    return this.pages.length;
  }

  /**
   * Resolves when another page may be handed over: there is room in the window, and no page
   * stopped short. Throws the error a settle met (then the window is empty).
   */
  async ready(): Promise<void> {
    for (;;) {
      if (this.stale) return this.restart();
      if (this.inFlight < this.maxInFlight || this.pages.length === 0) return;
      await this.pages[0]!.settled;
    }
  }

  /** Hands `events` (read after `start`, up to `end`) to the handler now; they are settled after the pages before them. */
  push(events: RecordedEvent[], start: bigint, end: bigint): void {
    const outcomes = dispatchBatch(this.host, events, this.handler);
    // Seen (and dropped) below if the page is never settled.
    outcomes.catch(() => {});
    const previous = this.tail;
    const page: Page = { size: Math.max(1, events.length), answered: false, settled: undefined as unknown as Promise<boolean> };
    void outcomes.then(() => (page.answered = true), () => {});
    page.settled = (async () => {
      try {
        const before = await previous;
        const answered = await outcomes;
        if (!before || this.stale) return false;
        const reached = await this.lock.run(async () => {
          const plan = planSettle(this.host, events, start, end, answered);
          // Nothing to record and the next page answered too: its commit takes the checkpoint past this page as well.
          const next = this.pages[this.pages.indexOf(page) + 1];
          if (plan.rows.length === 0 && plan.upTo === end && next?.answered) return true;
          await commitSettle(this.host, plan);
          return plan.upTo === end;
        });
        if (!reached) this.spoil();
        return reached;
      } catch (error) {
        this.failure ??= { error };
        this.spoil();
        return false;
      } finally {
        this.inFlight -= page.size;
        this.pages.splice(this.pages.indexOf(page), 1);
        if (this.pages.length === 0 && !this.stale) this.end = undefined;
      }
    })();
    this.tail = page.settled;
    this.pages.push(page);
    this.inFlight += page.size;
    this.end = end;
  }

  /** Waits until every page in flight is settled (or dropped); throws the error a settle met. */
  async idle(): Promise<void> {
    while (this.pages.length > 0) await this.pages[this.pages.length - 1]!.settled;
    if (this.stale) await this.restart();
  }

  private spoil(): void {
    if (this.stale) return;
    this.stale = true;
    this.onStale();
  }

  private async restart(): Promise<void> {
    while (this.pages.length > 0) await this.pages[this.pages.length - 1]!.settled;
    this.stale = false;
    this.end = undefined;
    // The dropped pages ended the chain with `false`: the next page is the first of a new one.
    this.tail = Promise.resolve(true);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure.error;
  }
}
