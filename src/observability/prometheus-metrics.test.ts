// The Prometheus endpoint on a real HTTP server, scraped and parsed after the store, a
// subscription, a relay, a broker consumer and the consistency monitor have recorded.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Subscription } from '../consumers/subscription.js';
import { metricDefinitions } from '../core/telemetry/metric-definitions.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import { EventConsumer } from '../transport/consumer/event-consumer.js';
import { MemoryBroker } from '../transport/memory/memory-broker.js';
import { Relay } from '../transport/relay/relay.js';
import { ConsistencyMonitor } from './consistency-monitor.js';
import { prometheusMetrics, type PrometheusMetrics } from './prometheus-metrics.js';

let metrics: PrometheusMetrics;
beforeAll(async () => (metrics = await prometheusMetrics()));
afterAll(() => metrics.shutdown());

it('serves every metric factum records, as Prometheus text a parser accepts', async () => {
  const store = new MemoryEventStore();
  const broker = new MemoryBroker();
  const relay = await new Relay(store, { name: 'outbox', broker, pollIntervalMs: 20 }).start();
  const consumer = await new EventConsumer({ name: 'billing', broker, topic: 'order', retry: { immediateRetries: 0, backoffRetries: 0 }, handler: (event) => {
    if (event.type === 'OrderCancelled') throw new Error('cannot bill a cancelled order');
  } }).start();
  let release!: () => void;
  const stuck = new Promise<void>((resolve) => (release = resolve));
  const projection = await new Subscription(store, { name: 'order-list', handler: (event) => (event.type === 'OrderCancelled' ? stuck : undefined) }).start();
  const breaches: string[] = [];
  const monitor = new ConsistencyMonitor(store, { intervalMs: 20, windowMs: 200, onBreach: (r) => breaches.push(r.name) });
  monitor.watch(projection, { events: 0 });
  monitor.start();
  await store.append('order-1', [{ type: 'OrderPlaced', data: {} }, { type: 'OrderCancelled', data: {} }]);
  await store.append('order-2', [{ type: 'OrderPlaced', data: {} }]);
  await expect.poll(() => consumer.status().deadLettered, { timeout: 5000 }).toBe(1);
  await expect.poll(() => breaches, { timeout: 5000 }).toContain('order-list');

  const server = createServer((req, res) => (req.url === '/metrics' ? metrics.handler(req, res) : res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The monitor evaluates every 20 ms: the scrape sees the state of a moment between these two.
  const stateBefore = monitor.reports()[0]!.state;
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
  const text = await response.text();
  const stateAfter = monitor.reports()[0]!.state;
  server.close();
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  const families = parsePrometheusTextFormat(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  // Every metric but the saga timers' (no workflow runs here; saga tests record it) is on the page.
  for (const definition of metricDefinitions.filter((m) => m.name !== 'factum_saga_timer_lateness_seconds')) {
    expect(byName.has(definition.name), `${definition.name} is served`).toBe(true);
    expect(byName.get(definition.name)!.type).toBe(definition.kind === 'counter' ? 'COUNTER' : definition.kind === 'histogram' ? 'HISTOGRAM' : 'GAUGE');
  }
  const sample = (name: string, labels: Record<string, string>) =>
    byName.get(name)!.metrics.find((m) => Object.entries(labels).every(([k, v]) => (m as { labels?: Record<string, string> }).labels?.[k] === v)) as { value?: string } | undefined;
  expect(sample('factum_events_appended_total', { category: 'order' })?.value).toBe('3');
  expect(sample('factum_dead_letters_total', { runner: 'billing', kind: 'consumer' })?.value).toBe('1');
  expect(Number(sample('factum_relay_published_total', { relay: 'outbox', outcome: 'confirmed' })?.value)).toBe(3);
  // The page holding the stuck event commits as one: none of its three events is checkpointed yet.
  expect(Number(sample('factum_lag_events', { runner: 'order-list', kind: 'subscription' })?.value)).toBe(3);
  const states = byName.get('factum_consistency_state')!.metrics;
  const current = states.filter((m) => m.labels?.runner === 'order-list' && m.value === '1').map((m) => m.labels?.state);
  expect(current).toHaveLength(1);
  expect([stateBefore, stateAfter]).toContain(current[0]);
  expect(sample('factum_consistency_breaches_total', { runner: 'order-list' })?.value).toBe('1');
  // The parser keeps a histogram's buckets only: its count is read from the text.
  expect(text).toMatch(/^factum_handler_duration_seconds_count\{runner="billing",outcome="error"[^}]*\} 1$/m);
  expect(await metrics.text()).toContain('factum_append_duration_seconds_bucket');

  release();
  await monitor.stop();
  await projection.stop();
  await consumer.stop();
  await relay.stop();
  await broker.close();
  await store.close();
});

it('drops a stopped runner from the lag and state gauges instead of serving its last value', async () => {
  const store = new MemoryEventStore();
  await store.append('order-1', [{ type: 'OrderPlaced', data: {} }]);
  const subscription = await new Subscription(store, { name: 'stopping-list', handler: () => {} }).start();
  const monitor = new ConsistencyMonitor(store, { intervalMs: 20, windowMs: 200 });
  monitor.watch(subscription, { events: 0 });
  monitor.start();
  await expect.poll(() => monitor.reports().length, { timeout: 5000 }).toBe(1);
  const series = (text: string) => text.split('\n').filter((line) => /^factum_(lag_events|lag_seconds|consistency_state)\{/.test(line) && line.includes('runner="stopping-list"'));
  expect(series(await metrics.text())).toHaveLength(2 + 4);
  await monitor.stop();
  await subscription.stop();
  expect(series(await metrics.text())).toEqual([]);
  await store.close();
});
