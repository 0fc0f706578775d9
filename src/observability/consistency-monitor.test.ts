import { expect, it } from 'vitest';
import { Subscription } from '../consumers/subscription.js';
import { openEventStore } from '../store/open-event-store.js';
import { ConsistencyMonitor } from './consistency-monitor.js';

it('samples on its own once started, and reports a failed sample to onError without stopping', async () => {
  const store = await openEventStore('memory:');
  const subscription = await new Subscription(store, { name: 'quick', handler: () => {} }).start();
  const errors: unknown[] = [];
  const monitor = new ConsistencyMonitor(store, { intervalMs: 10, windowMs: 1000, onError: (e) => errors.push(e) });
  monitor.watch(subscription, { seconds: 2 });
  expect(() => monitor.watch(subscription)).toThrow(/already watches "quick"/);
  expect(() => new ConsistencyMonitor(store, { windowMs: 0 })).toThrow(/must be positive/);
  monitor.start();
  await store.append('a-1', [{ type: 'Happened', data: {} }]);
  await subscription.waitFor(1n);
  await new Promise((r) => setTimeout(r, 50));
  expect(monitor.reports()).toEqual([expect.objectContaining({ name: 'quick', state: 'ok', breached: false, lagEvents: 0 })]);
  await subscription.stop();
  await store.close();
  await new Promise((r) => setTimeout(r, 50));
  await monitor.stop();
  expect(errors.length).toBeGreaterThan(0);
  expect((errors[0] as { code?: string }).code).toBe('STORE_CLOSED');
});
