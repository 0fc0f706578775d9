// The dashboard mounted in an application's own server, beside the runners it hosts: its
// `/metrics` serves their metrics (here a subscription held in its handler) behind the token.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Subscription } from '../consumers/subscription.js';
import { prometheusMetrics, type PrometheusMetrics } from '../observability/prometheus-metrics.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import { createDashboard, type Dashboard } from './create-dashboard.js';

let metrics: PrometheusMetrics;
beforeAll(async () => (metrics = await prometheusMetrics()));
afterAll(() => metrics.shutdown());

/** Mounted under `prefix` in a server whose other paths are the application's (404 here). */
async function mounted(dashboard: Dashboard, prefix = ''): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => (req.url?.startsWith(`${prefix}/`) ? dashboard.handler(req, res) : res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

it("serves the metrics of this process's runners at <basePath>/metrics, to a bearer of its token only", async () => {
  const store = new MemoryEventStore();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const subscription = new Subscription(store, { name: 'held-here', batchSize: 1, handler: (event) => (event.type === 'Stuck' ? held : undefined) });
  await subscription.start();
  await store.append('order-1', [{ type: 'OrderPlaced', data: {} }]);
  await subscription.waitFor(await store.headPosition(), { timeoutMs: 5000 });
  await store.append('order-2', [{ type: 'Stuck', data: {} }, { type: 'OrderPlaced', data: {} }, { type: 'OrderPlaced', data: {} }]);

  const token = 'a'.repeat(64);
  const dashboard = createDashboard({ store, token, basePath: '/factum', metrics, runners: [subscription] });
  const { origin, server } = await mounted(dashboard, '/factum');
  try {
    const url = `${origin}/factum/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${'b'.repeat(64)}` } })).status).toBe(401);
    expect((await fetch(`${url}?token=${token}`)).status).toBe(401);
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const families = parsePrometheusTextFormat(await response.text()) as Array<{ name: string; metrics: Array<{ value?: string; labels?: Record<string, string> }> }>;
    const lag = families.find((f) => f.name === 'factum_lag_events')?.metrics.find((m) => m.labels?.runner === 'held-here');
    // Held in its handler at the first of the three events appended after its checkpoint.
    expect(lag?.labels?.kind).toBe('subscription');
    expect(Number(lag?.value)).toBe(3);
  } finally {
    release();
    server.close();
    await dashboard.close();
    await subscription.stop();
  }
});

it('answers 404 at /metrics when it was given no metrics to serve', async () => {
  const store = new MemoryEventStore();
  const dashboard = createDashboard({ store, token: 'c'.repeat(64) });
  const { origin, server } = await mounted(dashboard);
  try {
    const response = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${'c'.repeat(64)}` } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { message: string }).message).toMatch(/prometheusMetrics/);
  } finally {
    server.close();
    await dashboard.close();
  }
});
