import type { EventStore } from '../core/event-store.js';
import { runnerOverview, type RunnerOverview } from '../consumers/runner-overview.js';

/** One sample of the log's head and of every runner's lag. */
export interface HeadSample {
  /** When it was taken, epoch milliseconds. */
  at: number;
  head: bigint;
  /** Events appended per second since the previous sample. */
  appendRate: number;
  /** Per runner name, its lag in events and seconds. */
  lags: Record<string, { events: number; seconds: number }>;
}

/**
 * Samples the head position and the runners' lag every `intervalMs` and keeps the last `size`
 * samples in a ring, for the dashboard's charts: the page then shows a history it was not open
 * for, and N open pages cost one query per interval, not N.
 *
 * @example
 * const sampler = new HeadSampler(store, { intervalMs: 1000, size: 300 })
 * sampler.start()
 * console.log(sampler.samples().at(-1)?.appendRate)
 */
export class HeadSampler {
  private readonly ring: HeadSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The runners as last read (memory stores have none in tables). */
  runners: RunnerOverview[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly options: { intervalMs?: number; size?: number } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs ?? 1000);
    // A dashboard mounted in a user's server must not keep their process alive on its own.
    this.timer.unref();
  }

  /** Takes one sample now (the one under way, if any). */
  sample(): Promise<void> {
    this.running ??= this.take().finally(() => (this.running = undefined));
    return this.running;
  }

  samples(): HeadSample[] {
    return [...this.ring];
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async take(): Promise<void> {
    try {
      const head = await this.store.headPosition();
      this.runners = await runnerOverview(this.store).catch(() => []);
      const at = Date.now();
      const previous = this.ring[this.ring.length - 1];
      const seconds = previous ? (at - previous.at) / 1000 : 0;
      const appendRate = previous && seconds > 0 ? Number(head - previous.head) / seconds : 0;
      const lags = Object.fromEntries(this.runners.map((r) => [r.name, { events: r.lagEvents, seconds: r.lagSeconds }]));
      this.ring.push({ at, head, appendRate, lags });
      if (this.ring.length > (this.options.size ?? 300)) this.ring.shift();
    } catch {
      // The store is closing or unreachable: the chart shows a hole, the next tick tries again.
    }
  }
}
