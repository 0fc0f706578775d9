/**
 * `npx tsx bench/prometheus-exporters.ts`: which Prometheus exporter factum's endpoint uses, by
 * measurement. factum records through the OpenTelemetry metrics API, so the candidates are
 * the OpenTelemetry SDK with `@opentelemetry/exporter-prometheus`, and `prom-client` (which
 * would need its own recording path). Measured: the cost of recording (a counter add and a
 * histogram record with two labels, as an append does) and of one scrape of 200 series.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import client from 'prom-client';

const RECORDS = Number(process.env.RECORDS ?? 1_000_000);
const SCRAPES = 200;
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const categories = Array.from({ length: 20 }, (_, i) => `category${i}`);

function time(fn: () => void): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function otel(): Promise<{ recordNs: number; scrapeMs: number; bytes: number }> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter('factum');
  const counter = meter.createCounter('factum_events_appended_total', { unit: '{event}' });
  const histogram = meter.createHistogram('factum_append_duration_seconds', { unit: 's', advice: { explicitBucketBoundaries: BUCKETS } });
  const ms = time(() => {
    for (let i = 0; i < RECORDS; i++) {
      const category = categories[i % 20]!;
      counter.add(1, { category });
      histogram.record(0.002, { category, outcome: 'ok' });
    }
  });
  const serializer = new PrometheusSerializer();
  let bytes = 0;
  const scrape = await timeAsync(async () => {
    for (let i = 0; i < SCRAPES; i++) bytes = serializer.serialize((await exporter.collect()).resourceMetrics).length;
  });
  await provider.shutdown();
  return { recordNs: (ms * 1e6) / RECORDS, scrapeMs: scrape / SCRAPES, bytes };
}

async function promClient(): Promise<{ recordNs: number; scrapeMs: number; bytes: number }> {
  const registry = new client.Registry();
  const counter = new client.Counter({ name: 'factum_events_appended_total', help: 'x', labelNames: ['category'], registers: [registry] });
  const histogram = new client.Histogram({ name: 'factum_append_duration_seconds', help: 'x', labelNames: ['category', 'outcome'], buckets: BUCKETS, registers: [registry] });
  const ms = time(() => {
    for (let i = 0; i < RECORDS; i++) {
      const category = categories[i % 20]!;
      counter.inc({ category });
      histogram.observe({ category, outcome: 'ok' }, 0.002);
    }
  });
  let bytes = 0;
  const scrape = await timeAsync(async () => {
    for (let i = 0; i < SCRAPES; i++) bytes = (await registry.metrics()).length;
  });
  return { recordNs: (ms * 1e6) / RECORDS, scrapeMs: scrape / SCRAPES, bytes };
}

// Warm both up once, then measure in alternation.
await otel();
await promClient();
const rows: Array<{ exporter: string; recordNs: number; scrapeMs: number; bytes: number }> = [];
for (let round = 0; round < 2; round++) {
  rows.push({ exporter: '@opentelemetry/exporter-prometheus', ...(await otel()) });
  rows.push({ exporter: 'prom-client', ...(await promClient()) });
}
for (const row of rows) console.log(`${row.exporter.padEnd(36)} record ${row.recordNs.toFixed(0).padStart(5)} ns/append   scrape ${row.scrapeMs.toFixed(2)} ms (${row.bytes} bytes)`);
