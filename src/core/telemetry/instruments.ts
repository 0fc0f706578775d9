import { FactumError } from '../errors.js';
import { streamCategory } from '../message.js';
import { CumulativeCounter, type AddingCounter } from './cumulative-counter.js';
import { otel, type OtelApi } from './otel-api.js';
import { metricDefinitions, type MetricDefinition } from './metric-definitions.js';

/** What a lag gauge reads of a running runner (subscriptions, projection runners, relays, workflow runners). */
export interface GaugedRunner {
  name: string;
  /** The `kind` label: subscription, projection, relay, workflow, consumer. */
  kind: string;
  /** Lag measured now against the log's head: a runner stuck in a handler must not hide the lag growing behind it. */
  lag(): Promise<{ events: bigint | number; seconds: number }>;
  /** Lag as of its last read: the answer when `lag()` cannot be had at once (PGlite's one session busy, a database away). */
  status(): { lagEvents: bigint | number; lagSeconds: number };
}

/** How long a scrape waits for one runner's `lag()` before it reports the last known one. */
const LAG_READ_MS = 500;

async function lagOf(runner: GaugedRunner): Promise<{ events: number; seconds: number }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), LAG_READ_MS)));
    const lag = await Promise.race([runner.lag(), late]);
    if (lag) return { events: Number(lag.events), seconds: lag.seconds };
  } catch {
    // Reported below from the last read.
  } finally {
    clearTimeout(timer);
  }
  const status = runner.status();
  return { events: Number(status.lagEvents), seconds: status.lagSeconds };
}

/** What the consistency-state gauge reads of a monitor: each runner's current state. */
export interface GaugedStates {
  states(): Iterable<{ runner: string; state: string }>;
}

/** The synchronous instruments factum records into. */
export interface Instruments {
  eventsAppended: AddingCounter;
  appendDuration: OtelApi.Histogram;
  handlerDuration: OtelApi.Histogram;
  deadLetters: AddingCounter;
  relayPublished: AddingCounter;
  relayConfirmDuration: OtelApi.Histogram;
  sagaTimerLateness: OtelApi.Histogram;
  consistencyBreaches: AddingCounter;
}

const runners = new Set<GaugedRunner>();
/** The runners the gauges observed at their last reading (see `isObservedGaugePoint`). */
let observedSeries = new Set<string>();
const GAUGES = new Set(['factum_lag_events', 'factum_lag_seconds', 'factum_consistency_state']);
const seriesKey = (labels: { runner: string; kind?: string }): string => `${labels.runner}\u0000${labels.kind ?? ''}`;

/**
 * Whether a data point of `metric` is one the last reading observed. The OpenTelemetry JS SDK
 * keeps exporting the last value of a gauge's series that its callback no longer observes (a
 * runner that stopped), which the specification says it should not: factum's endpoint drops them.
 *
 * @example
 * const current = points.filter((p) => isObservedGaugePoint('factum_lag_events', p.attributes))
 */
export function isObservedGaugePoint(metric: string, attributes: Record<string, unknown>): boolean {
  if (!GAUGES.has(metric)) return true;
  const runner = String(attributes.runner);
  return observedSeries.has(seriesKey(metric === 'factum_consistency_state' ? { runner } : { runner, kind: String(attributes.kind) }));
}
const monitors = new Set<GaugedStates>();
export const CONSISTENCY_STATES = ['ok', 'lagging', 'stalled', 'stopped'] as const;

/** Seconds buckets from 0.5 ms to 30 s: appends and handlers live in the low milliseconds, lag in seconds. */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function definition(name: string): MetricDefinition {
  const found = metricDefinitions.find((m) => m.name === name);
  if (!found) throw new FactumError('INVALID_ARGUMENT', `No metric definition is named ${name}`);
  return found;
}

function create(meter: OtelApi.Meter): Instruments {
  const options = (name: string): OtelApi.MetricOptions => {
    const d = definition(name);
    return { unit: d.unit, description: d.description, ...(d.kind === 'histogram' && d.unit === 's' ? { advice: { explicitBucketBoundaries: SECONDS_BUCKETS } } : {}) };
  };
  const counters: Array<[OtelApi.ObservableCounter, CumulativeCounter]> = [];
  const counter = (name: string): AddingCounter => {
    const summed = new CumulativeCounter(definition(name).labels);
    counters.push([meter.createObservableCounter(name, options(name)), summed]);
    return summed;
  };
  const histogram = (name: string) => meter.createHistogram(name, options(name));
  const lagEvents = meter.createObservableGauge('factum_lag_events', options('factum_lag_events'));
  const lagSeconds = meter.createObservableGauge('factum_lag_seconds', options('factum_lag_seconds'));
  const state = meter.createObservableGauge('factum_consistency_state', options('factum_consistency_state'));
  const made = {
    eventsAppended: counter('factum_events_appended_total'),
    appendDuration: histogram('factum_append_duration_seconds'),
    handlerDuration: histogram('factum_handler_duration_seconds'),
    deadLetters: counter('factum_dead_letters_total'),
    relayPublished: counter('factum_relay_published_total'),
    relayConfirmDuration: histogram('factum_relay_confirm_duration_seconds'),
    sagaTimerLateness: histogram('factum_saga_timer_lateness_seconds'),
    consistencyBreaches: counter('factum_consistency_breaches_total'),
  };
  // Read when scraped, not on every event.
  meter.addBatchObservableCallback(
    async (result) => {
      for (const [instrument, summed] of counters) summed.observe(result, instrument);
      const watched = [...runners];
      const lags = await Promise.all(watched.map(lagOf));
      const observed = new Set<string>();
      watched.forEach((runner, i) => {
        const labels = { runner: runner.name, kind: runner.kind };
        result.observe(lagEvents, lags[i]!.events, labels);
        result.observe(lagSeconds, lags[i]!.seconds, labels);
        observed.add(seriesKey(labels));
      });
      for (const monitor of monitors) {
        for (const { runner, state: current } of monitor.states()) {
          for (const s of CONSISTENCY_STATES) result.observe(state, s === current ? 1 : 0, { runner, state: s });
          observed.add(seriesKey({ runner }));
        }
      }
      observedSeries = observed;
    },
    [lagEvents, lagSeconds, state, ...counters.map(([instrument]) => instrument)],
  );
  return made;
}

let cached: { provider: OtelApi.MeterProvider; instruments: Instruments } | undefined;
/** Each provider's instruments, made once: the counters' sums live here, so a provider registered again counts on. */
const byProvider = new WeakMap<OtelApi.MeterProvider, Instruments>();

/**
 * The instruments of the meter provider registered now, or undefined without the API. The
 * metrics API hands out no proxies (unlike tracing), so instruments are made again when the
 * application registers its provider after factum was loaded.
 */
export function instruments(): Instruments | undefined {
  if (!otel) return undefined;
  const provider = otel.metrics.getMeterProvider();
  if (cached?.provider !== provider) {
    let made = byProvider.get(provider);
    if (!made) byProvider.set(provider, (made = create(provider.getMeter('factum'))));
    cached = { provider, instruments: made };
  }
  return cached.instruments;
}

/** Reports `runner`'s lag in `factum_lag_events` / `factum_lag_seconds` until the returned function is called. */
export function gaugeRunner(runner: GaugedRunner): () => void {
  instruments();
  runners.add(runner);
  return () => void runners.delete(runner);
}

/** Reports a monitor's states in `factum_consistency_state` until the returned function is called. */
export function gaugeStates(monitor: GaugedStates): () => void {
  instruments();
  monitors.add(monitor);
  return () => void monitors.delete(monitor);
}

/** `factum_events_appended_total`: `count` new events committed to `streamId` (not a retry that wrote nothing, not a rolled-back transaction). */
export function countAppended(streamId: string, count: number): void {
  instruments()?.eventsAppended.add(count, { category: streamCategory(streamId) });
}

/** Seconds since `started` (a `performance.now()` reading): durations are recorded in base units. */
export const secondsSince = (started: number): number => (performance.now() - started) / 1000;
