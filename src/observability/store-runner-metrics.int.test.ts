// StoreRunnerMetrics on the SQL stores: what the tables show of runners that run elsewhere, on
// the Prometheus page under the runners' own metric names. The runners here run in this process,
// so while they run the global meter provider is unset (they record into the API's no-op, as a
// process without an SDK would) and only what the tables say reaches the page.
import { metrics as otelMetrics, type MeterProvider } from '@opentelemetry/api';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { Subscription } from '../consumers/subscription.js';
import type { EventStore } from '../core/event-store.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import { MemoryBroker } from '../transport/memory/memory-broker.js';
import { Relay } from '../transport/relay/relay.js';
import { prometheusMetrics, type PrometheusMetrics } from './prometheus-metrics.js';
import { StoreRunnerMetrics } from './store-runner-metrics.js';

let prometheus: PrometheusMetrics;
let provider: MeterProvider;
beforeAll(async () => {
  prometheus = await prometheusMetrics();
  provider = otelMetrics.getMeterProvider();
  otelMetrics.disable();
});
afterAll(() => prometheus.shutdown());

/** Runs `work` with no meter provider registered: what it records goes nowhere. */
async function unrecorded<T>(work: () => Promise<T>): Promise<T> {
  otelMetrics.disable();
  try {
    return await work();
  } finally {
    otelMetrics.setGlobalMeterProvider(provider);
  }
}

type Family = { name: string; metrics: Array<{ value?: string; labels?: Record<string, string> }> };
async function page(runners: StoreRunnerMetrics): Promise<(name: string, labels: Record<string, string>) => number | undefined> {
  await runners.refresh();
  const families = new Map((parsePrometheusTextFormat(await prometheus.text()) as Family[]).map((f) => [f.name, f]));
  return (name, labels) => {
    const found = families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return found?.value === undefined ? undefined : Number(found.value);
  };
}

async function runToHead(store: EventStore, subscription: Subscription): Promise<void> {
  await subscription.start();
  await subscription.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
  await subscription.stop();
}

describeOnStores(
  'StoreRunnerMetrics',
  (on) => {
    it('reports each checkpoint with its kind and lag, counts a dead letter each time it becomes dead and never counts down', { timeout: 60_000 }, async () => {
      const store = await on.open();
      // One meter provider serves the whole file: each store's runners have names of their own.
      const totals = `totals-${on.name}`;
      const outbox = `relay:outbox-${on.name}`;
      let heal = false;
      const poisoned = () =>
        new Subscription(store, {
          name: totals,
          retry: { immediateRetries: 0, backoffRetries: 0 },
          handler: (event) => {
            if (event.type === 'Poison' && !heal) throw new Error('poison');
          },
        });
      const broker = new MemoryBroker();
      // A group bound to the topic, or the memory broker refuses the messages as unroutable.
      await broker.consume({ topic: 'order', group: 'billing', handler: async () => {} });
      const relay = new Relay(store, { name: outbox.slice('relay:'.length), broker, pollIntervalMs: 20 });
      const letters = await unrecorded(async () => {
        await store.append('order-1', [{ type: 'OrderPlaced', data: {} }, { type: 'Poison', data: {} }]);
        await runToHead(store, poisoned());
        await relay.start();
        await relay.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
        await relay.stop();
        await store.append('order-2', [{ type: 'OrderPaid', data: {} }, { type: 'OrderPaid', data: {} }]);
        return poisoned().deadLetters();
      });
      expect(letters.map((l) => l.status)).toEqual(['dead']);

      const runners = new StoreRunnerMetrics(store, { projections: [totals], bounds: { [totals]: { events: 1 } } });
      try {
        const first = await page(runners);
        expect(first('factum_lag_events', { runner: totals, kind: 'projection' })).toBe(2);
        expect(first('factum_lag_events', { runner: outbox, kind: 'relay' })).toBe(2);
        expect(first('factum_dead_letters_total', { runner: totals, kind: 'projection' })).toBe(1);
        expect(first('factum_dead_letters_total', { runner: outbox, kind: 'relay' })).toBe(0);
        expect(first('factum_consistency_breaches_total', { runner: totals })).toBe(1);
        // The relay has no bound: it is judged, never breached.
        expect(first('factum_consistency_breaches_total', { runner: outbox })).toBeUndefined();

        // Retried where the handler runs, and failing again: a second time dead, as its runner would count it.
        await unrecorded(async () => {
          const again = poisoned();
          await again.start();
          await again.retryDeadLetter(letters[0]!.id);
          await again.stop();
        });
        const second = await page(runners);
        expect(second('factum_dead_letters_total', { runner: totals, kind: 'projection' })).toBe(2);
        // Read again with nothing new: nothing counted.
        expect((await page(runners))('factum_dead_letters_total', { runner: totals, kind: 'projection' })).toBe(2);

        // Healed and retried: the letter leaves the table, the counter stays (a counter never goes down), the lag is gone.
        heal = true;
        await unrecorded(async () => {
          const healed = poisoned();
          await healed.start();
          await healed.retryDeadLetter(letters[0]!.id);
          await healed.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
          await healed.stop();
        });
        const third = await page(runners);
        expect(third('factum_dead_letters_total', { runner: totals, kind: 'projection' })).toBe(2);
        expect(third('factum_lag_events', { runner: totals, kind: 'projection' })).toBe(0);
        expect(third('factum_lag_seconds', { runner: totals, kind: 'projection' })).toBe(0);
        expect(third('factum_consistency_state', { runner: totals, state: 'ok' })).toBe(1);
      } finally {
        await runners.stop();
      }
    });
  },
  { needs: ['sql'] },
);

it('refuses the memory store, whose runners keep their checkpoints in the process that runs them', () => {
  expect(() => new StoreRunnerMetrics(new MemoryEventStore())).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
});
