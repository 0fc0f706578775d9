/** Rebuilds on the SQL stores: replay into a copy while the old one serves, swap, resume after a stop. */
import { afterEach, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { ProjectionRunner } from '../../src/projections/projection-runner.js';
import { rebuildProjection, type RebuildProgress } from '../../src/projections/rebuild.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { ev } from './helpers.js';
import { countingProjection, readCounts } from './projection-suite.js';

export function rebuildSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('projection rebuild', (under) => {
    let store: EventStore;
    const runners: ProjectionRunner[] = [];
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.stop();
    });

    const expected = (perStream: Map<string, number>) => Object.fromEntries([...perStream.entries()].sort());
    const appendSome = async (n: number, tally: Map<string, number>) => {
      let last = 0n;
      for (let i = 0; i < n; i += 10) {
        const stream = `r-${(i / 10) % 7}`;
        last = (await store.append(stream, Array.from({ length: 10 }, () => ev('Counted')))).lastPosition;
        tally.set(stream, (tally.get(stream) ?? 0) + 10);
      }
      return last;
    };

    it('replays into a fresh copy while the old read model serves and the live runner runs, then swaps', async () => {
      store = await under.open();
      const projection = countingProjection('rebuilt');
      const tally = new Map<string, number>();
      await appendSome(300, tally);
      const runner = await new ProjectionRunner(store, projection, { batchSize: 25 }).start();
      runners.push(runner);
      await runner.waitFor(await store.headPosition(), { timeoutMs: 30_000 });

      const seen: RebuildProgress[] = [];
      let servedDuringReplay: Record<string, number> | undefined;
      let writes: Promise<bigint> | undefined;
      const result = await rebuildProjection(store, projection, {
        batchSize: 40,
        progressEveryMs: 0,
        onProgress: (p) => {
          seen.push(p);
          if (p.phase === 'replaying' && !writes) {
            // Appends go on during the rebuild; the old read model keeps answering.
            writes = appendSome(100, tally);
            servedDuringReplay = {};
            void readCounts(store, projection).then((c) => (servedDuringReplay = c));
          }
        },
      });
      const last = await writes!;
      expect(result).toMatchObject({ swapped: true, phase: 'done', resumedFrom: 0n });
      expect(result.eventsDone).toBeGreaterThanOrEqual(300);
      expect(seen.some((p) => p.phase === 'replaying' && p.ratePerSecond > 0)).toBe(true);
      expect(seen.at(-1)!.phase).toBe('done');
      await runner.waitFor(last, { timeoutMs: 30_000 });
      await runner.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
      expect(runner.status().state).toBe('running');
      expect(Object.values(servedDuringReplay ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(await readCounts(store, projection)).toEqual(expected(tally));

      // The live runner goes on writing into the swapped-in table.
      const more = await appendSome(20, tally);
      await runner.waitFor(more, { timeoutMs: 30_000 });
      expect(await readCounts(store, projection)).toEqual(expected(tally));
    });

    it('resumes a rebuild that was stopped midway, and a fixed projection replaces a wrong read model', async () => {
      store = await under.open();
      const tally = new Map<string, number>();
      await appendSome(200, tally);
      // The live read model is wrong (a bug counted every event twice)...
      const buggy = countingProjection('fixme');
      const doubled = { ...buggy, handlers: { Counted: async (e: any, ctx: any) => { await buggy.handlers.Counted!(e, ctx); await buggy.handlers.Counted!(e, ctx); } } };
      const runner = await new ProjectionRunner(store, doubled).start();
      await runner.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
      await runner.stop();
      expect(Object.values(await readCounts(store, buggy)).reduce((a, b) => a + b, 0)).toBe(400);

      // ...so the fixed projection is rebuilt; the first run is stopped after one batch.
      const fixed = countingProjection('fixme');
      const stop = new AbortController();
      const first = await rebuildProjection(store, fixed, { batchSize: 30, progressEveryMs: 0, onProgress: () => stop.abort(), signal: stop.signal });
      expect(first.swapped).toBe(false);
      expect(first.position).toBeGreaterThan(0n);
      const second = await rebuildProjection(store, fixed, { batchSize: 30 });
      expect(second.swapped).toBe(true);
      expect(second.resumedFrom).toBe(first.position);
      expect(await readCounts(store, fixed)).toEqual(expected(tally));
    });
  }, { stores, needs: ['sql'] });
}
