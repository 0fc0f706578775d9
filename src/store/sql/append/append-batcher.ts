/** What a batch needs of an append: appends to one stream never share a batch, nor do two of one event id. */
export interface BatchableAppend {
  streamId: string;
  eventId: string;
  /** About how much it adds to a statement (its JSON); a batch stops growing at `maxBatchBytes`. */
  bytes: number;
}

/** One single-event append waiting for a batch. */
export interface QueuedAppend<Item extends BatchableAppend, Outcome> {
  item: Item;
  resolve(outcome: Outcome | undefined): void;
  reject(error: unknown): void;
}

/** How a batcher sends: one append alone, or several in one statement. */
export interface BatchSender<Item extends BatchableAppend, Outcome> {
  /** One append's statement: its outcome, or undefined when it must go its own way. */
  one(item: Item): Promise<Outcome | undefined>;
  /**
   * Several appends in one statement, settling each: with its outcome, with undefined (the
   * statement could not decide it; the append then goes its own way), or with an error.
   */
  many(batch: QueuedAppend<Item, Outcome>[]): Promise<void>;
}

/**
 * Natural batching of concurrent single-event appends (to different streams): while
 * `maxInFlight` statements are on their way, appends that arrive wait, and go together in the
 * next statement as soon as one of those returns (or has taken `slowMs`). Alone, an append
 * waits for nothing; under load one round trip and one commit carry many of them, each still
 * all or nothing, since one event is one row. Two appends to one stream are never decided
 * together: one whose stream is being written, or is in the batch already, goes alone, at once,
 * as it would without batching (a hot stream gains nothing from waiting).
 *
 * Measured with 16 writers on 2 cores, against plain INSERTs: 1.41x with 1 statement in flight,
 * 1.56x with 2, 1.39x with 4, 1.25x with 8 (one run each); unbatched, 0.98x.
 */
export class AppendBatcher<Item extends BatchableAppend, Outcome> {
  /** Statements that count against `maxInFlight`, with the time each was sent. */
  private readonly counted = new Set<{ sentAt: number }>();
  private queue: QueuedAppend<Item, Outcome>[] = [];
  /** Streams with an append on its way, and how many. */
  private readonly streamsInFlight = new Map<string, number>();
  /** Set while appends wait: looks again after `slowMs`, in case every slot is held by a slow statement. */
  private recheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: BatchSender<Item, Outcome>,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
    private readonly slowMs = 10,
    private readonly maxBatchBytes = 1024 * 1024,
  ) {}

  /** Resolves with the append's outcome, or with undefined when it must go its own way. */
  submit(item: Item): Promise<Outcome | undefined> {
    // Its stream is being written: waiting for a batch could only delay the race it is in.
    if (this.streamsInFlight.has(item.streamId)) return this.alone(item, false);
    if (!this.queue.length && this.counted.size < this.maxInFlight) return this.alone(item, true);
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.counted.size >= this.maxInFlight) this.uncountSlow();
    while (this.counted.size < this.maxInFlight && this.queue.length) {
      const { batch, alone } = this.take();
      this.dispatch(batch, true);
      // Appends to a stream that is in the batch already could only race it: they go at once, alone.
      for (const append of alone) this.dispatch([append], false);
    }
    if (this.queue.length && !this.recheck) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined;
        this.pump();
      }, this.slowMs).unref();
    }
  }

  /**
   * A statement that has taken `slowMs` (waiting on a lock another transaction holds, say)
   * stops counting, so that it never holds the appends behind it back.
   */
  private uncountSlow(): void {
    const now = performance.now();
    for (const statement of this.counted) if (now - statement.sentAt >= this.slowMs) this.counted.delete(statement);
  }

  /** Sends one append by itself; `counted` if it takes a slot. */
  private alone(item: Item, counted: boolean): Promise<Outcome | undefined> {
    const done = this.track([item], counted);
    const outcome = this.send.one(item);
    outcome.then(done, done);
    return outcome;
  }

  private dispatch(batch: QueuedAppend<Item, Outcome>[], counted: boolean): void {
    if (batch.length === 1) {
      const [{ item, resolve, reject }] = batch as [QueuedAppend<Item, Outcome>];
      this.alone(item, counted).then(resolve, reject);
      return;
    }
    const done = this.track(batch.map((append) => append.item), counted);
    this.send.many(batch).then(done, (error: unknown) => {
      for (const append of batch) append.reject(error);
      done();
    });
  }

  /** Notes a statement on its way; returns what to call when it has ended. */
  private track(items: Item[], counted: boolean): () => void {
    const statement = { sentAt: performance.now() };
    if (counted) this.counted.add(statement);
    for (const { streamId } of items) this.streamsInFlight.set(streamId, (this.streamsInFlight.get(streamId) ?? 0) + 1);
    return () => {
      this.counted.delete(statement);
      for (const { streamId } of items) {
        const left = this.streamsInFlight.get(streamId)! - 1;
        if (left) this.streamsInFlight.set(streamId, left);
        else this.streamsInFlight.delete(streamId);
      }
      this.pump();
    };
  }

  /**
   * The oldest appends, up to `maxBatch` and `maxBatchBytes` (the first one whatever its size),
   * no two of one stream or event id; those that collide with one in the batch, to send alone;
   * the rest stay queued, in order.
   */
  private take(): { batch: QueuedAppend<Item, Outcome>[]; alone: QueuedAppend<Item, Outcome>[] } {
    if (this.queue.length === 1) {
      const batch = this.queue;
      this.queue = [];
      return { batch, alone: [] };
    }
    const batch: QueuedAppend<Item, Outcome>[] = [];
    const alone: QueuedAppend<Item, Outcome>[] = [];
    const rest: QueuedAppend<Item, Outcome>[] = [];
    const streams = new Set<string>();
    const ids = new Set<string>();
    let bytes = 0;
    for (const append of this.queue) {
      const { streamId, eventId } = append.item;
      if (streams.has(streamId) || ids.has(eventId)) alone.push(append);
      else if (batch.length < this.maxBatch && (!batch.length || bytes + append.item.bytes <= this.maxBatchBytes)) {
        batch.push(append);
        streams.add(streamId);
        ids.add(eventId);
        bytes += append.item.bytes;
      } else rest.push(append);
    }
    this.queue = rest;
    return { batch, alone };
  }
}
