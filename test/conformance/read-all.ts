// Reads of `$all`: position order, filters, pages and the head.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { collect, ev, many } from './helpers.js';

export function readAllConformance(on: StoreUnderTest): void {
  describe('reading $all', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    async function seed() {
      await open();
      await store.append('order-1', [ev('OrderPlaced'), ev('OrderPaid')]);
      await store.append('payment-1', [ev('PaymentTaken')]);
      await store.append('order-2', [ev('OrderPlaced')]);
      await store.append('orderline-1', [ev('LineAdded')]);
      await store.append('order', [ev('OrderPlaced')]);
    }

    it('returns every event once, in position order, from a position', async () => {
      await seed();
      const all = await collect(store.readAll());
      expect(all.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderPaid', 'PaymentTaken', 'OrderPlaced', 'LineAdded', 'OrderPlaced']);
      const positions = all.map((e) => e.globalPosition);
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
      expect(new Set(positions).size).toBe(6);
      const after = await collect(store.readAll({ after: all[2]!.globalPosition }));
      expect(after.map((e) => e.streamId)).toEqual(['order-2', 'orderline-1', 'order']);
      expect(await collect(store.readAll({ limit: 2 }))).toHaveLength(2);
      expect(await store.headPosition()).toBe(all[5]!.globalPosition);
    });

    it('filters by event type and by category, and resumes past skipped events', async () => {
      await seed();
      const placed = await collect(store.readAll({ types: ['OrderPlaced'] }));
      expect(placed.map((e) => e.streamId)).toEqual(['order-1', 'order-2', 'order']);
      const orders = await collect(store.readAll({ categories: ['order'] }));
      expect(orders.map((e) => e.streamId)).toEqual(['order-1', 'order-1', 'order-2', 'order']);
      const both = await collect(store.readAll({ categories: ['order', 'payment'], types: ['OrderPaid', 'PaymentTaken'] }));
      expect(both.map((e) => e.type)).toEqual(['OrderPaid', 'PaymentTaken']);
      const page = await store.readAllPage({ types: ['PaymentTaken'] });
      expect(page.events.map((e) => e.type)).toEqual(['PaymentTaken']);
      // The resume point passes the filtered-out tail, so a subscriber does not rescan it.
      expect(page.position).toBe(await store.headPosition());
      const next = await store.readAllPage({ types: ['PaymentTaken'], after: page.position });
      expect(next.events).toEqual([]);
    });

    it('pages through $all with small pages', async () => {
      await open();
      for (let i = 0; i < 5; i++) await store.append(`s-${i}`, many(9));
      const seen: bigint[] = [];
      let after = 0n;
      for (;;) {
        const page = await store.readAllPage({ after, limit: 4 });
        expect(page.events.length).toBeLessThanOrEqual(4);
        seen.push(...page.events.map((e) => e.globalPosition));
        if (page.position === after) break;
        after = page.position;
      }
      expect(seen).toHaveLength(45);
      expect(new Set(seen).size).toBe(45);
    });
  });
}
