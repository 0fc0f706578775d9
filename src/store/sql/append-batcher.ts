/** What a batch needs of an append: appends to one stream never share a batch, nor do two of one event id. */
export interface BatchableAppend {
  streamId: string;
  eventId: string;
}

/** One single-event append waiting for a batch. */
export interface QueuedAppend<Item extends BatchableAppend, Outcome> {
  item: Item;
  resolve(outcome: Outcome | undefined): void;
  reject(error: unknown): void;
}

/**
 * Sends the queued appends in one statement, and settles each: with its outcome, with
 * undefined (the batch could not decide it; the append then goes its own way), or with an error.
 */
export type SendBatch<Item extends BatchableAppend, Outcome> = (batch: QueuedAppend<Item, Outcome>[]) => Promise<void>;

/**
 * Natural batching of concurrent single-event appends (to different streams): while
 * `maxInFlight` statements are on their way, appends that arrive wait, and go together in the
 * next statement as soon as one of those returns (or has taken `slowMs`). Alone, an append waits for nothing; under load
 * one round trip and one commit carry many of them, each still all-or-nothing, since one event
 * is one row. Two appends to one stream are never decided together: one whose stream is being
 * written, or is in the batch already, goes alone, at once, as it would without batching.
 */
export class AppendBatcher<Item extends BatchableAppend, Outcome> {
  private inFlight = 0;
  private queue: QueuedAppend<Item, Outcome>[] = [];
  /** Streams with an append on its way, and how many. */
  private readonly streamsInFlight = new Map<string, number>();

  constructor(
    private readonly send: SendBatch<Item, Outcome>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
    private readonly slowMs = 10,
  ) {}

  /** Resolves with the append's outcome, or with undefined when it must go its own way. */
  submit(item: Item): Promise<Outcome | undefined> {
    return new Promise((resolve, reject) => {
      // Its stream is being written: waiting for a batch could only delay the race it is in.
      if (this.streamsInFlight.has(item.streamId)) return this.dispatch([{ item, resolve, reject }], false);
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length) {
      const { batch, alone } = this.take();
      this.dispatch(batch, true);
      // Appends to a stream that is in the batch already could only race it: they go at once, alone.
      for (const append of alone) this.dispatch([append], false);
    }
  }

  private dispatch(batch: QueuedAppend<Item, Outcome>[], counted: boolean): void {
    if (counted) this.inFlight++;
    for (const { item } of batch) this.streamsInFlight.set(item.streamId, (this.streamsInFlight.get(item.streamId) ?? 0) + 1);
    // A statement that takes long (waiting on a lock another transaction holds, say) stops
    // counting, so that it never holds the appends behind it back.
    const uncount = () => {
      if (!counted) return;
      counted = false;
      this.inFlight--;
    };
    const slow = counted ? setTimeout(() => (uncount(), this.pump()), this.slowMs).unref() : undefined;
    this.send(batch)
      .catch((error: unknown) => {
        for (const append of batch) append.reject(error);
      })
      .finally(() => {
        clearTimeout(slow);
        uncount();
        for (const { item } of batch) {
          const left = this.streamsInFlight.get(item.streamId)! - 1;
          if (left) this.streamsInFlight.set(item.streamId, left);
          else this.streamsInFlight.delete(item.streamId);
        }
        this.pump();
      });
  }

  /**
   * The oldest appends, up to `maxBatch`, no two of one stream or event id; those that collide
   * with one in the batch, to send alone; the rest stay queued, in order.
   */
  private take(): { batch: QueuedAppend<Item, Outcome>[]; alone: QueuedAppend<Item, Outcome>[] } {
    const batch: QueuedAppend<Item, Outcome>[] = [];
    const alone: QueuedAppend<Item, Outcome>[] = [];
    const rest: QueuedAppend<Item, Outcome>[] = [];
    const streams = new Set<string>();
    const ids = new Set<string>();
    for (const append of this.queue) {
      const { streamId, eventId } = append.item;
      if (streams.has(streamId) || ids.has(eventId)) alone.push(append);
      else if (batch.length < this.maxBatch) {
        batch.push(append);
        streams.add(streamId);
        ids.add(eventId);
      } else rest.push(append);
    }
    this.queue = rest;
    return { batch, alone };
  }
}
