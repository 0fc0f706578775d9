import { CONSUMER_DEAD_LETTERS } from '../consumers/dead-letter-requests.js';
import { runnerOverview, type RunnerOverview } from '../consumers/runner-overview.js';
import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { gaugeRunner, gaugeStates, instruments } from '../core/telemetry/instruments.js';
import { sqlAccess } from '../store/sql-access.js';
import type { BoundReport, ConsistencyBound } from './consistency-bound.js';
import { ConsistencyMonitor } from './consistency-monitor.js';

/** Options of `StoreRunnerMetrics`. */
export interface StoreRunnerMetricsOptions {
  /** Consistency bounds by runner name (a checkpoint's name, or a partitioned runner's name for all its partitions). */
  bounds?: Record<string, ConsistencyBound>;
  /** Names of projections, so that their `kind` label reads `projection` as in the process that runs them. */
  projections?: readonly string[];
  /** The consistency monitor's window; 60,000 ms by default. */
  windowMs?: number;
  /** How often the tables are read between scrapes (the monitor needs samples); 5,000 ms by default. */
  intervalMs?: number;
  /** A read failed (the database went away): the next one tries again. */
  onError?: (error: unknown) => void;
}

interface Gauged {
  row: RunnerOverview;
  stop: () => void;
}

/**
 * The metrics of every runner a SQL store keeps in its tables, whichever process runs it (or
 * none): for the CLI's `factum serve` and `factum dashboard`, which host no runner themselves.
 * It records through the OpenTelemetry API under the names a runner's own process uses
 * (`metricDefinitions`), so one Grafana dashboard and one set of alert rules serve both:
 * - `factum_lag_events` / `factum_lag_seconds` per checkpoint (subscriptions, projection
 *   runners, relays, workflow runners, each partition apart: `orders#0/4`), and per broker
 *   consumer as it last reported its lag (`kind="consumer"`; stopped once silent for 30 s);
 * - `factum_dead_letters_total`, counted as dead letters appear in the table (the ones there at
 *   start are counted first), also for broker consumers;
 * - `factum_consistency_state` and `factum_consistency_breaches_total` from a `ConsistencyMonitor`
 *   over what the tables show. From the tables a runner that is not running looks `stalled` (its
 *   checkpoint stands while lag grows): only the process hosting it can say `stopped`.
 * Call `refresh()` before collecting (a scrape) so that the lag is read at scrape time. Not for
 * a process that runs those runners itself: they report themselves, and the two would add up.
 * A dead letter that fails twice between two reads is counted once.
 *
 * @example
 * const metrics = await prometheusMetrics() // factum/prometheus
 * const runners = new StoreRunnerMetrics(store, { bounds: { 'order-summary': { seconds: 2 } } }).start()
 * http.createServer(async (req, res) => { await runners.refresh(); res.end(await metrics.text()) }).listen(9464)
 */
export class StoreRunnerMetrics {
  private readonly gauged = new Map<string, Gauged>();
  private readonly monitor: ConsistencyMonitor;
  private readonly unwatch = new Map<string, () => void>();
  /**
   * Each dead letter's last status and attempts (`dead:3`), by id: a letter counts each time it
   * becomes dead, as in the runner, which counts a retry that fails again (attempts grow) once more.
   */
  private letters = new Map<string, string>();
  private readonly countedRunners = new Set<string>();
  private readonly projections: Set<string>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private ungaugeStates?: () => void;
  private stopped = false;

  constructor(
    private readonly store: EventStore,
    private readonly options: StoreRunnerMetricsOptions = {},
  ) {
    if (!sqlAccess(store)) throw new FactumError('INVALID_ARGUMENT', 'StoreRunnerMetrics reads the runners from tables: it needs a SQL store (PostgreSQL, PGlite)');
    this.projections = new Set(options.projections ?? []);
    this.monitor = new ConsistencyMonitor(store, { ...(options.windowMs ? { windowMs: options.windowMs } : {}) });
  }

  /** Reads the tables now and every `intervalMs` until `stop()`; the timer does not keep the process alive. */
  start(): this {
    if (this.timer || this.stopped) return this;
    const tick = () => void this.refresh().catch((error: unknown) => this.options.onError?.(error));
    tick();
    this.timer = setInterval(tick, this.options.intervalMs ?? 5000);
    this.timer.unref();
    return this;
  }

  /** Reads the runners, their dead letters and the monitor's sample now (joins a read under way). */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The monitor's latest report of every runner. */
  reports(): BoundReport[] {
    return this.monitor.reports();
  }

  /** Stops reading for good and removes every runner from the gauges (the store stays open). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
    this.ungaugeStates?.();
    for (const { stop } of this.gauged.values()) stop();
    for (const stop of this.unwatch.values()) stop();
    this.gauged.clear();
    this.unwatch.clear();
  }

  private async read(): Promise<void> {
    // On the first read, not in start(): a caller that only refreshes before each scrape gets the states too.
    this.ungaugeStates ??= gaugeStates({ states: () => this.monitor.reports().map((r) => ({ runner: r.name, state: r.state })) });
    const rows = await runnerOverview(this.store);
    const names = new Set(rows.map((r) => r.name));
    for (const [name, gauged] of this.gauged) {
      if (names.has(name)) continue;
      gauged.stop();
      this.unwatch.get(name)?.();
      this.gauged.delete(name);
      this.unwatch.delete(name);
    }
    for (const row of rows) {
      const known = this.gauged.get(row.name);
      if (known) {
        known.row = row;
        continue;
      }
      const entry: Gauged = { row, stop: () => {} };
      const lag = () => ({ events: entry.row.lagEvents, seconds: entry.row.lagSeconds });
      entry.stop = gaugeRunner({ name: row.name, kind: this.kindOf(row), lag: async () => lag(), status: () => ({ lagEvents: entry.row.lagEvents, lagSeconds: entry.row.lagSeconds }) });
      this.gauged.set(row.name, entry);
      const bound = this.options.bounds?.[row.name] ?? this.options.bounds?.[baseName(row.name)] ?? {};
      const status = () => ({ name: entry.row.name, state: reportedState(entry.row), position: entry.row.position, lagEvents: entry.row.lagEvents, lagSeconds: entry.row.lagSeconds });
      // A broker consumer's lag is what it reported, not the log's head minus a position.
      this.unwatch.set(row.name, this.monitor.watch(row.kind === 'consumer' ? { status, lag: async () => lag() } : { status }, bound));
    }
    await this.countDeadLetters(rows);
    await this.monitor.sample();
  }

  private async countDeadLetters(rows: RunnerOverview[]): Promise<void> {
    const sql = sqlAccess(this.store)!;
    let letters;
    try {
      ({ rows: letters } = await sql.client.query<{ id: string | number; subscription: string; status: string; attempts: number }>(
        `SELECT id, subscription, status, attempts FROM ${sql.names.s}dead_letters WHERE status <> 'parked'`,
      ));
    } catch (error) {
      throw sql.storageError('Counting dead letters', error);
    }
    const counter = instruments()?.deadLetters;
    const kinds = new Map(rows.map((r) => [baseName(r.name), this.kindOf(r)]));
    // A broker consumer keeps its letters as `consumer:<name>`; its own process labels them `<name>`.
    const labelsOf = (subscription: string) => {
      const runner = subscription.startsWith(CONSUMER_DEAD_LETTERS) ? subscription.slice(CONSUMER_DEAD_LETTERS.length) : subscription;
      return { runner, kind: subscription.startsWith(CONSUMER_DEAD_LETTERS) ? 'consumer' : (kinds.get(runner) ?? 'subscription') };
    };
    // A runner's counter is on the page from its first read, at 0 if it has none: rate() then sees its first dead letter.
    for (const runner of new Set([...kinds.keys(), ...letters.map((l) => l.subscription)])) {
      if (this.countedRunners.has(runner)) continue;
      this.countedRunners.add(runner);
      counter?.add(0, labelsOf(runner));
    }
    const next = new Map<string, string>();
    for (const letter of letters) {
      const id = String(letter.id);
      const seen = `${letter.status}:${letter.attempts}`;
      if (letter.status === 'dead' && this.letters.get(id) !== seen) counter?.add(1, labelsOf(letter.subscription));
      next.set(id, seen);
    }
    this.letters = next;
  }

  /** The `kind` label the runner's own process gives it (subscription.ts `runnerKind`). */
  private kindOf(row: RunnerOverview): string {
    if (row.kind === 'consumer') return 'consumer';
    const base = baseName(row.name);
    if (base.startsWith('relay:')) return 'relay';
    if (base.startsWith('workflow:')) return 'workflow';
    if (this.projections.has(base)) return 'projection';
    return 'subscription';
  }
}

/**
 * A checkpointed runner is `running` as far as tables tell (only its process knows more); a
 * broker consumer is what it last reported, and `stopped` once it has not reported for
 * `SILENT_REPORT_MS` (its process died without a last word).
 */
function reportedState(row: RunnerOverview): string {
  if (row.kind !== 'consumer') return 'running';
  return Date.now() - row.updatedAt.getTime() > SILENT_REPORT_MS ? 'stopped' : (row.state ?? 'running');
}

/** Six of a consumer's default report intervals (5 s). */
const SILENT_REPORT_MS = 30_000;

/** A partition's checkpoint (`orders#0/4`) belongs to its runner (`orders`), which keeps the dead letters. */
function baseName(checkpoint: string): string {
  return checkpoint.replace(/#\d+\/\d+$/, '');
}
