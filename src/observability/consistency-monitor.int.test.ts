// The monitor on a real subscription whose handler is held, let through a few events at a
// time, then freed: stalled, lagging, catching up, ok, stopped, with the breach and recovery
// callbacks. The monitor's clock is the test's, so the windows do not depend on the machine's speed.
import { expect } from 'vitest';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { Subscription } from '../consumers/subscription.js';
import type { BoundReport } from './consistency-bound.js';
import { ConsistencyMonitor } from './consistency-monitor.js';

/** Lets the handler through `n` more events at a time (or all with `open`). */
class Turnstile {
  private permits = 0;
  private open = false;
  private waiting: Array<() => void> = [];
  let(n: number): void {
    this.permits += n;
    this.flush();
  }
  free(): void {
    this.open = true;
    this.flush();
  }
  async pass(): Promise<void> {
    if (this.open) return;
    if (this.permits > 0) return void this.permits--;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  private flush(): void {
    while (this.waiting.length > 0 && (this.open || this.permits > 0)) {
      if (!this.open) this.permits--;
      this.waiting.shift()!();
    }
  }
}

describeOnStores('ConsistencyMonitor', (on) => {
  on.itIf(on.name !== 'pglite', 'PGlite has one connection: a held handler holds it, so nothing else can append or read the head')('reports a held handler as stalled and breached, a slow one as lagging, catching up with an estimate, freed as ok and recovered, stopped as stopped', async () => {
    const store = await on.open();
    const gate = new Turnstile();
    const subscription = new Subscription(store, { name: 'slow-reader', batchSize: 1, pollIntervalMs: 50, handler: () => gate.pass() });
    let clock = 1_000_000;
    const breaches: BoundReport[] = [];
    const recoveries: BoundReport[] = [];
    const changes: string[] = [];
    const monitor = new ConsistencyMonitor(store, {
      windowMs: 1000,
      now: () => clock,
      onBreach: (r) => breaches.push(r),
      onRecovery: (r) => recoveries.push(r),
      onStateChange: (r, previous) => changes.push(`${previous}->${r.state}`),
    });
    monitor.watch(subscription, { events: 10 });
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) await store.append(`s-${i % 4}`, [{ type: 'Happened', data: { i } }]);
      return store.headPosition();
    };
    const handledUpTo = async (count: bigint) => {
      while (subscription.status().position < count) await new Promise((r) => setTimeout(r, 10));
    };
    const report = async () => (await monitor.sample())[0]!;
    await subscription.start();
    try {
      await scenario();
    } finally {
      // A failed assertion must not leave the handler held: the store could not close.
      gate.free();
      await subscription.stop();
    }

    async function scenario() {
      // Held: 20 events wait, nothing moves.
      await append(20);
      await new Promise((r) => setTimeout(r, 100));
      expect(await report()).toMatchObject({ state: 'ok', breached: true }); // one sample: not judged yet, but over its bound
      clock += 100;
      expect(await report()).toMatchObject({ state: 'stalled', breached: true, lagEvents: 20 });
      expect(breaches).toHaveLength(1);

      // Slow: 5 handled while 10 more arrive.
      clock += 2000;
      await report();
      gate.let(5);
      await handledUpTo(5n);
      await append(10);
      clock += 100;
      const lagging = await report();
      expect(lagging.state).toBe('lagging');
      expect(lagging.lagEvents).toBeGreaterThanOrEqual(25);

      // Two seconds without progress: stalled again. Then 10 more handled, nothing appended: the lag shrinks, with an estimate.
      clock += 2000;
      const before = await report();
      expect(before.state).toBe('stalled');
      gate.let(10);
      await handledUpTo(15n);
      clock += 500;
      const catching = await report();
      expect(catching.state).toBe('ok');
      expect(catching.lagEvents).toBe(before.lagEvents - 10);
      // Measured from the last sample before the window (the lagging one, 2.5 s earlier on the monitor's clock).
      expect(catching.etaSeconds).toBeCloseTo(catching.lagEvents / ((lagging.lagEvents - catching.lagEvents) / 2.5), 5);
      expect(catching.breached).toBe(true);

      // Freed: it catches up and recovers.
      gate.free();
      await subscription.waitFor(await store.headPosition(), { timeoutMs: 10_000 });
      clock += 100;
      expect(await report()).toMatchObject({ state: 'ok', breached: false, lagEvents: 0 });
      expect(recoveries).toHaveLength(1);

      await subscription.stop();
      clock += 100;
      expect((await report()).state).toBe('stopped');
      expect(changes).toEqual(['ok->stalled', 'stalled->lagging', 'lagging->stalled', 'stalled->ok', 'ok->stopped']);
    }
  });
});
