/**
 * `npm run bench:telemetry`: what tracing and metrics cost. Appends (single events, 8 writers at
 * once) and a subscription catching up (per-event handler, a transaction per page), with
 * OpenTelemetry off (no SDK registered) and on (a real SDK: every span sampled and batched to an
 * exporter that drops them, metrics collected every second by a reader that drops them), in
 * alternating rounds of one run, on PostgreSQL and on the memory store. Target: on >= 0.95 of off.
 */
import { randomUUID } from 'node:crypto';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { Subscription } from '../src/consumers/subscription.js';
import type { EventStore } from '../src/core/event-store.js';
import { MemoryEventStore } from '../src/store/memory/memory-event-store.js';
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { SERVER_URL } from './bench-database.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const APPENDS = quick ? 800 : 4000;
const WRITERS = 8;

const dropSpans: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
const dropMetrics: PushMetricExporter = { export: (_metrics, done) => done({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {}, selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE };

/** Registers a real SDK globally, the way an application does; returns the function that removes it. */
function telemetryOn(): () => Promise<void> {
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropSpans)] });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: dropMetrics, exportIntervalMillis: 1000 })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results: string[] = [];
for (const backend of backends) {
  const rates = { off: { append: [] as number[], catchUp: [] as number[] }, on: { append: [] as number[], catchUp: [] as number[] } };
  for (let round = 0; round <= ROUNDS; round++) {
    for (const mode of ['off', 'on'] as const) {
      const off = mode === 'on' ? telemetryOn() : undefined;
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
    const off = median(rates.off[what]);
    const on = median(rates.on[what]);
    results.push(`${backend.name.padEnd(9)} ${(what === 'append' ? 'appends/s' : 'catch-up events/s').padEnd(18)} off ${off.toFixed(0).padStart(7)}   on ${on.toFixed(0).padStart(7)}   on/off ${(on / off).toFixed(2)}`);
  }
}
console.log(`telemetry overhead (${ROUNDS} rounds, medians; target on/off >= 0.95):`);
for (const line of results) console.log(line);
