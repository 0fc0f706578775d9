/** Partitioned subscriptions in one process: every partition handled, per-stream order, leases shared and taken over. */
import { afterEach, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { RecordedEvent } from '../../src/core/message.js';
import { PartitionedSubscription } from '../../src/consumers/partitioned-subscription.js';
import { partitionOf } from '../../src/consumers/partition-of.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { ev, eventually } from './helpers.js';

export function partitionSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('partitioned subscriptions', (under) => {
    let store: EventStore;
    const running: PartitionedSubscription[] = [];
    afterEach(async () => {
      for (const sub of running.splice(0)) await sub.stop();
    });

    it('handles every event once, each stream in order, in the partition of its stream', async () => {
      store = await under.open();
      const seen: Array<{ event: RecordedEvent; owner: string }> = [];
      const make = (owner: string) =>
        new PartitionedSubscription(store, { name: 'split', partitions: 4, leaseMs: 600, owner, handler: (event) => void seen.push({ event, owner }) });
      const a = make('a');
      running.push(a);
      await a.start();
      let last = 0n;
      for (let i = 0; i < 40; i++) last = (await store.append(`s-${i % 9}`, [ev('E', { i })])).lastPosition;
      await eventually(() => seen.length === 40, 20_000, 'all 40 events');
      expect(new Set(seen.map((s) => s.event.id)).size).toBe(40);
      for (let k = 0; k < 9; k++) {
        const versions = seen.filter((s) => s.event.streamId === `s-${k}`).map((s) => s.event.streamVersion);
        expect(versions).toEqual(versions.map((_, i) => i + 1));
      }
      await a.waitFor(last);
      expect(a.status().map((s) => s.partition)).toEqual([0, 1, 2, 3]);
      expect(partitionOf('s-1', 4)).toBe(partitionOf('s-1', 4));
    });

    under.itIf(under.capabilities.sql, 'leases live in SQL; the memory store has one owner')("shares partitions between two owners and hands a stopped owner's partitions over", async () => {
      store = await under.open();
      const seen: string[] = [];
      const make = (owner: string) =>
        new PartitionedSubscription(store, { name: 'shared', partitions: 4, leaseMs: 600, owner, handler: (event) => void seen.push(event.id) });
      const a = make('a');
      const b = make('b');
      running.push(a, b);
      await a.start();
      await b.start();
      await eventually(() => a.owned().length === 2 && b.owned().length === 2, 20_000, 'a 2/2 split');
      expect([...a.owned(), ...b.owned()].sort()).toEqual([0, 1, 2, 3]);
      for (let i = 0; i < 20; i++) await store.append(`t-${i % 6}`, [ev('E')]);
      await b.stop();
      running.splice(running.indexOf(b), 1);
      await eventually(() => a.owned().length === 4, 20_000, 'a to take all 4');
      for (let i = 0; i < 20; i++) await store.append(`t-${i % 6}`, [ev('E')]);
      await eventually(() => seen.length >= 40, 20_000, 'all 40 events');
      expect(seen).toHaveLength(40);
      expect(new Set(seen).size).toBe(40);
    });
  }, { stores });
}
