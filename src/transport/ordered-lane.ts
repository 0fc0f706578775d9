/**
 * One partition's messages, handled one at a time in arrival order. When a handler sends its
 * message back to the broker for a retry, the lane takes nothing else until that message comes
 * back (brokers deliver a returned message before the rest of its partition queue), so the
 * messages it already holds behind it cannot overtake it: per-key order through retries.
 *
 * @example
 * const lane = new OrderedLane(async (message) => (await handle(message), 'done'))
 * channel.consume(queue, (message) => lane.push({ id: message.properties.messageId, message }))
 */
export class OrderedLane<T extends { id: string }> {
  private pending: T[] = [];
  private running: Promise<void> | undefined;
  private waitingFor: string | undefined;
  private stopped = false;
  /** Items in the run under way (1, or a batch's). */
  private inRun = 0;

  /**
   * `run` handles one item; or, given `batch`, a run takes every item the lane holds (up to
   * `batch.max`) and says which one it sent back for redelivery and which it left unsettled: those
   * go back to the front of the lane, in order, behind the redelivered one when it comes back.
   */
  constructor(
    private readonly run: (item: T) => Promise<'done' | 'redeliver'>,
    private readonly batch?: { max: number; run: (items: T[]) => Promise<{ redeliver?: string; unsettled: T[] }> },
  ) {}

  /** Items it holds: waiting, and in the run under way (a retry waiting out its delay included). */
  get size(): number {
    return this.pending.length + this.inRun;
  }

  push(item: T): void {
    if (this.stopped) return;
    if (this.waitingFor === item.id) {
      this.waitingFor = undefined;
      this.pending.unshift(item);
    } else {
      this.pending.push(item);
    }
    this.pump();
  }

  /** Takes nothing new, forgets what it holds (the broker redelivers it), and resolves when the running handler is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = [];
    while (this.running) await this.running;
  }

  private pump(): void {
    if (this.running || this.stopped || this.waitingFor !== undefined) return;
    if (this.batch) return this.pumpBatch(this.batch);
    const item = this.pending.shift();
    if (!item) return;
    this.inRun = 1;
    this.running = this.run(item)
      .then(
        (outcome) => {
          if (outcome === 'redeliver') this.waitingFor = item.id;
        },
        () => {},
      )
      .finally(() => {
        this.running = undefined;
        this.inRun = 0;
        this.pump();
      });
  }

  private pumpBatch(batch: NonNullable<OrderedLane<T>['batch']>): void {
    const items = this.pending.splice(0, Math.max(1, batch.max));
    if (items.length === 0) return;
    this.inRun = items.length;
    this.running = batch
      .run(items)
      .then(
        ({ redeliver, unsettled }) => {
          // A stop forgot what the lane held: the broker redelivers those, and these too.
          if (this.stopped) return;
          this.pending.unshift(...unsettled);
          if (redeliver !== undefined) this.waitingFor = redeliver;
        },
        () => {},
      )
      .finally(() => {
        this.running = undefined;
        this.inRun = 0;
        this.pump();
      });
  }
}
