/**
 * `npm run bench:telemetry`: what tracing and metrics cost. Appends (single events, 8 writers at
 * once) and a subscription catching up (per-event handler, a transaction per page), with
 * OpenTelemetry off (no SDK registered) and on (a real SDK: every span sampled and batched to an
 * exporter that drops them, metrics collected every second by a reader that drops them), in
 * alternating rounds of one run, on PostgreSQL and on the memory store, and once more with 10% of
 * traces sampled (what production setups commonly keep). Target: on >= 0.95 of off.
 * A full run writes bench/results/telemetry-overhead.{md,json}; `--quick` only prints.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { ROOT_CONTEXT, SpanKind, context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { Subscription } from '../src/consumers/subscription.js';
import type { EventStore } from '../src/core/event-store.js';
import { MemoryEventStore } from '../src/store/memory/memory-event-store.js';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { SERVER_URL } from './bench-database.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
// Enough that a catch-up on PostgreSQL lasts a few hundred milliseconds, not tens (4,000 gave rounds from 47,000 to 80,000 events/s).
const APPENDS = quick ? 800 : 16_000;
const WRITERS = 8;

const dropSpans: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
const dropMetrics: PushMetricExporter = { export: (_metrics, done) => done({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {}, selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE };

/** The share of traces a production setup commonly keeps: a root is sampled at this ratio, the rest follow their parent. */
const SAMPLED_RATIO = 0.1;

/**
 * Registers a real SDK globally, the way an application does; returns the function that removes
 * it. `every` samples every span; `sampled` keeps `SAMPLED_RATIO` of the traces; `context` is the
 * context manager alone, once used (as an application's first traced request does): what every
 * promise of the process pays for its hooks, whether or not factum traces.
 */
function telemetryOn(sampling: 'every' | 'sampled' | 'context'): () => Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  if (sampling === 'context') {
    context.with(context.active(), () => {});
    return async () => void context.disable();
  }
  const sampler = sampling === 'sampled' ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(SAMPLED_RATIO) }) } : {};
  const tracerProvider = new BasicTracerProvider({ ...sampler, spanProcessors: [new BatchSpanProcessor(dropSpans)] });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: dropMetrics, exportIntervalMillis: 1000 })] });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    trace.disable();
    metrics.disable();
    context.disable();
  };
}

/** Appends per second: `APPENDS` single-event appends by `WRITERS` writers at once, each to its own streams. */
async function appendRate(store: EventStore): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = w; i < APPENDS; i += WRITERS) await store.append(`acct-${i % 400}`, [{ type: 'Deposited', data: { amount: i, note: 'a little payload to make it realistic' } }]);
    }),
  );
  return APPENDS / ((performance.now() - started) / 1000);
}

/** Events per second of a subscription that catches up from the start to the head. */
async function catchUpRate(store: EventStore): Promise<number> {
  const head = await store.headPosition();
  const started = performance.now();
  const sub = await new Subscription(store, { name: `bench-${randomUUID().slice(0, 8)}`, handler: () => {} }).start();
  await sub.waitFor(head, { timeoutMs: 600_000 });
  const seconds = (performance.now() - started) / 1000;
  await sub.stop();
  return Number(head) / seconds;
}

interface Backend {
  name: string;
  open(): Promise<{ store: EventStore; drop(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'postgres',
    async open() {
      const schema = `bench_otel_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 10 });
      return {
        store,
        async drop() {
          await store.close();
          const client = new pg.Client(SERVER_URL);
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        },
      };
    },
  },
  { name: 'memory', open: async () => ({ store: new MemoryEventStore(), drop: async () => {} }) },
];

/**
 * Microseconds the SDK itself spends on one handled event, measured alone: a consumer span with
 * factum's five attributes started and ended, made active around an empty async handler, and one
 * histogram record, less the same loop doing nothing. The floor under any per-event span.
 */
async function sdkFloorMicros(sampling: 'every' | 'sampled'): Promise<number> {
  const off = telemetryOn(sampling);
  const tracer = trace.getTracer('floor');
  const histogram = metrics.getMeter('floor').createHistogram('floor_seconds');
  const attributes = { runner: 'floor', outcome: 'ok' };
  const loop = async (work: () => Promise<void>, n: number) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) await work();
    return ((performance.now() - started) * 1000) / n;
  };
  const empty = async () => {};
  const handled = async () => {
    const started = performance.now();
    // A root span: under the 10% sampler it is recorded at that ratio, as a fresh trace's would be.
    const span = tracer.startSpan('process floor', { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'factum', 'messaging.operation.type': 'process', 'messaging.consumer.group.name': 'floor', 'messaging.message.id': 'id', 'messaging.destination.name': 'floor' } }, ROOT_CONTEXT);
    await context.with(trace.setSpan(ROOT_CONTEXT, span), empty);
    span.end();
    histogram.record((performance.now() - started) / 1000, attributes);
  };
  const n = quick ? 20_000 : 200_000;
  await loop(handled, n / 10);
  const micros = (await loop(handled, n)) - (await loop(empty, n));
  await off();
  return micros;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const loadAtStart = os.loadavg()[0]!;
const started = new Date();
const MODES = ['off', 'context', 'on', 'sampled'] as const;
type Mode = (typeof MODES)[number];
const results: string[] = [];
const rows: Array<{ backend: string; measure: string; off: number; context: number; contextRatio: number; on: number; ratio: number; sampled: number; sampledRatio: number; addedMicros: number; addedSampledMicros: number; rounds: Record<Mode, number[]> }> = [];
for (const backend of backends) {
  const rates = Object.fromEntries(MODES.map((mode) => [mode, { append: [] as number[], catchUp: [] as number[] }])) as Record<Mode, { append: number[]; catchUp: number[] }>;
  for (let round = 0; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      const off = mode === 'off' ? undefined : telemetryOn(mode === 'on' ? 'every' : mode);
      const { store, drop } = await backend.open();
      try {
        const append = await appendRate(store);
        const catchUp = await catchUpRate(store);
        // Round 0 warms up the process (JIT, connections) and is not counted.
        if (round > 0) {
          rates[mode].append.push(append);
          rates[mode].catchUp.push(catchUp);
        }
      } finally {
        await drop();
        await off?.();
      }
    }
  }
  for (const what of ['append', 'catchUp'] as const) {
    const [off, contextOnly, on, sampled] = MODES.map((mode) => median(rates[mode][what])) as [number, number, number, number];
    const measure = what === 'append' ? 'appends/s' : 'catch-up events/s';
    const added = (rate: number) => Number((1e6 / rate - 1e6 / off).toFixed(1));
    results.push(`${backend.name.padEnd(9)} ${measure.padEnd(18)} off ${off.toFixed(0).padStart(7)}   context only ${contextOnly.toFixed(0).padStart(7)} (${(contextOnly / off).toFixed(2)})   on ${on.toFixed(0).padStart(7)} (${(on / off).toFixed(2)}, +${added(on)} µs)   ${SAMPLED_RATIO * 100}% sampled ${sampled.toFixed(0).padStart(7)} (${(sampled / off).toFixed(2)}, +${added(sampled)} µs)`);
    rows.push({
      backend: backend.name,
      measure,
      off: Math.round(off),
      context: Math.round(contextOnly),
      contextRatio: Number((contextOnly / off).toFixed(2)),
      on: Math.round(on),
      ratio: Number((on / off).toFixed(2)),
      sampled: Math.round(sampled),
      sampledRatio: Number((sampled / off).toFixed(2)),
      addedMicros: added(on),
      addedSampledMicros: added(sampled),
      rounds: Object.fromEntries(MODES.map((mode) => [mode, rates[mode][what].map(Math.round)])) as Record<Mode, number[]>,
    });
  }
}
const floor = { every: await sdkFloorMicros('every'), sampled: await sdkFloorMicros('sampled') };
console.log(`telemetry overhead (${ROUNDS} rounds, medians, ratio to off and µs added per append or event in parentheses; target >= 0.95):`);
for (const line of results) console.log(line);
console.log(`the SDK's own work per handled event, alone: ${floor.every.toFixed(2)} µs every span sampled, ${floor.sampled.toFixed(2)} µs at ${SAMPLED_RATIO * 100}%`);

if (!quick) {
  const lines = [
    '# Telemetry overhead: OpenTelemetry on against off',
    '',
    `Run of ${started.toISOString()}, produced by \`npm run bench:telemetry\`; ${os.cpus().length} cores shared with other work, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end. ${APPENDS.toLocaleString('en-US')} single-event appends by ${WRITERS} writers at once, then a subscription catching up over them (per-event handler); off = no SDK registered, on = a real SDK (every span sampled and batched to an exporter that drops them, metrics read every second and dropped), sampled = the same SDK keeping ${SAMPLED_RATIO * 100}% of traces (parent-based, trace-id ratio at the root; metrics unchanged). One warm-up round, then ${ROUNDS} rounds rotating off, on and sampled; medians.`,
    '',
    `| Store | Measure | Off | Context only | Context / off | On | On / off | µs added | ${SAMPLED_RATIO * 100}% sampled | Sampled / off | µs added | Off rounds | Context rounds | On rounds | Sampled rounds |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.backend} | ${r.measure} | ${r.off.toLocaleString('en-US')} | ${r.context.toLocaleString('en-US')} | ${r.contextRatio.toFixed(2)} | ${r.on.toLocaleString('en-US')} | **${r.ratio.toFixed(2)}** | ${r.addedMicros} | ${r.sampled.toLocaleString('en-US')} | **${r.sampledRatio.toFixed(2)}** | ${r.addedSampledMicros} | ${r.rounds.off.join(', ')} | ${r.rounds.context.join(', ')} | ${r.rounds.on.join(', ')} | ${r.rounds.sampled.join(', ')} |`,
    ),
    '',
    `Context only = the SDK's context manager registered and used once, nothing else: the promise hooks every promise of the process then pays, whether or not factum traces. µs added = time per append or per event over off (1/rate on - 1/rate off).`,
    '',
    `The SDK's own work for one handled event, measured alone in the same process (a consumer span with five attributes started and ended, made active around an empty handler, one histogram record, less an empty loop): **${floor.every.toFixed(2)} µs** with every span sampled, **${floor.sampled.toFixed(2)} µs** at ${SAMPLED_RATIO * 100}%. A span per event can cost no less, so a store whose own cost per event is below 19 times that cannot reach 0.95.`,
    '',
    `Target: on / off >= 0.95 (every span sampled: ${rows.every((r) => r.ratio >= 0.95) ? 'met' : 'NOT met'}; ${SAMPLED_RATIO * 100}% of traces sampled: ${rows.every((r) => r.sampledRatio >= 0.95) ? 'met' : 'NOT met'}).`,
  ];
  const dir = new URL('./results/', import.meta.url);
  await writeFile(new URL('telemetry-overhead.md', dir), `${lines.join('\n')}\n`);
  await writeFile(new URL('telemetry-overhead.json', dir), `${JSON.stringify({ date: started.toISOString(), command: 'npm run bench:telemetry', loadAverage: [loadAtStart, os.loadavg()[0]], rounds: ROUNDS, sdkFloorMicros: floor, rows }, null, 2)}\n`);
}
