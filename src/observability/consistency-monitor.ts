import { gaugeStates, instruments } from '../core/telemetry/instruments.js';
import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { BoundReport, ConsistencyBound, LagSample } from './consistency-bound.js';
import { evaluateWindow } from './evaluate-window.js';

/** What the monitor reads of a runner: every subscription, projection runner, relay and broker consumer has it. */
export interface MonitoredRunner {
  /** `position` is the runner's place in the log, or for a runner with a `lag()`, any count that grows as it progresses. */
  status(): { name: string; state: string; position: bigint; lagEvents: bigint | number; lagSeconds: number };
  /**
   * A runner whose lag no log position measures (a broker consumer, whose lag is in the broker)
   * reads it itself; without it, the lag is the log's head minus the position.
   */
  lag?(): Promise<{ events: bigint | number; seconds: number }>;
}

/** Options of `ConsistencyMonitor`. */
export interface ConsistencyMonitorOptions {
  /** The sliding window each runner is judged over; 60,000 ms by default. */
  windowMs?: number;
  /** How often runners are sampled once started; 1,000 ms by default. */
  intervalMs?: number;
  /** A runner went outside its bound. */
  onBreach?: (report: BoundReport) => void;
  /** A breached runner is back inside its bound. */
  onRecovery?: (report: BoundReport) => void;
  /** A runner's state changed (ok, lagging, stalled, stopped). */
  onStateChange?: (report: BoundReport, previous: BoundReport['state']) => void;
  /** A sample failed (the database went away): the next one tries again. */
  onError?: (error: unknown) => void;
  /** The clock, in ms since the epoch (tests pass their own). */
  now?: () => number;
}

interface Watched {
  runner: MonitoredRunner;
  bound: ConsistencyBound;
  samples: LagSample[];
  report?: BoundReport;
}

/**
 * Eventual consistency, bounded and measured: samples the status of the runners it watches,
 * judges each over a sliding window after Burrow's rules (`BoundState`: ok, lagging, stalled,
 * stopped) with its lag measured against the log's head read at each sample, checks it against its bound ("within 2 s", "within 1,000 events"), and calls
 * `onBreach` and `onRecovery` when a runner crosses its bound, with an estimate of the time to
 * catch up. Watch the active instance of a runner (a standby never moves).
 *
 * @example
 * const monitor = new ConsistencyMonitor(store, { onBreach: (r) => log.warn(`${r.name} is ${r.lagSeconds.toFixed(1)} s behind (${r.state})`) })
 * monitor.watch(orderSummaryRunner, { seconds: 2 })
 * monitor.start()
 * console.log(monitor.reports()) // [{ name: 'order-summary', state: 'ok', breached: false, ... }]
 */
export class ConsistencyMonitor {
  private readonly watched = new Map<string, Watched>();
  private readonly windowMs: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<unknown>;
  private ungauge?: () => void;

  constructor(
    private readonly store: EventStore,
    private readonly options: ConsistencyMonitorOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(this.windowMs > 0) || !(this.intervalMs > 0)) throw new FactumError('INVALID_ARGUMENT', 'ConsistencyMonitor: windowMs and intervalMs must be positive');
    this.now = options.now ?? Date.now;
  }

  /** Watches `runner` against `bound` (none: its state only); returns the function that stops watching it. */
  watch(runner: MonitoredRunner, bound: ConsistencyBound = {}): () => void {
    for (const [key, value] of Object.entries(bound)) {
      if (value !== undefined && !(typeof value === 'number' && value >= 0)) throw new FactumError('INVALID_ARGUMENT', `A consistency bound's ${key} must be a number >= 0`);
    }
    const name = runner.status().name;
    if (this.watched.has(name)) throw new FactumError('INVALID_ARGUMENT', `ConsistencyMonitor already watches "${name}"`);
    this.watched.set(name, { runner, bound, samples: [] });
    return () => void this.watched.delete(name);
  }

  /** Samples every `intervalMs` until `stop()`; the timer does not keep the process alive. */
  start(): this {
    if (this.timer) return this;
    this.ungauge = gaugeStates({ states: () => this.reports().map((r) => ({ runner: r.name, state: r.state })) });
    const tick = () => {
      // One sample at a time: a slow database must not pile them up.
      if (this.sampling) return;
      this.sampling = this.sample()
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => (this.sampling = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Stops sampling; resolves once a sample in progress is done. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.ungauge?.();
    await this.sampling;
  }

  /** Reads every runner now, judges it, calls the callbacks of what changed, and returns the reports. */
  async sample(): Promise<BoundReport[]> {
    // The log's head, read now: a runner stuck in a handler reports the head of its last read,
    // which would hide the lag that grows behind it.
    const head = await this.store.headPosition();
    const now = this.now();
    for (const [name, watched] of this.watched) {
      const { runner } = watched;
      // Read before the status, so that the status's lag is no older than this read.
      const own = runner.lag ? await runner.lag().catch(() => undefined) : undefined;
      const status = runner.status();
      const lagEvents = runner.lag ? Number(own?.events ?? status.lagEvents) : Number(head > status.position ? head - status.position : 0n);
      const lagSeconds = own?.seconds ?? status.lagSeconds;
      watched.samples.push({ at: now, position: status.position, lagEvents, lagSeconds, running: status.state !== 'stopped' && status.state !== 'failed' });
      // Keep the window, and the one sample before it that tells where the window began.
      while (watched.samples.length > 2 && watched.samples[1]!.at < now - this.windowMs) watched.samples.shift();
      const verdict = evaluateWindow(watched.samples, watched.bound, this.windowMs, now);
      const previous = watched.report;
      const report: BoundReport = {
        name,
        ...verdict,
        bound: watched.bound,
        lagEvents,
        lagSeconds,
        since: previous && previous.state === verdict.state ? previous.since : now,
      };
      watched.report = report;
      if (previous && previous.state !== report.state) this.options.onStateChange?.(report, previous.state);
      if (report.breached && !previous?.breached) {
        instruments()?.consistencyBreaches.add(1, { runner: name });
        this.options.onBreach?.(report);
      }
      if (!report.breached && previous?.breached) this.options.onRecovery?.(report);
    }
    return this.reports();
  }

  /** The latest report of every watched runner (sampled at least once). */
  reports(): BoundReport[] {
    return [...this.watched.values()].flatMap((w) => (w.report ? [w.report] : []));
  }
}
