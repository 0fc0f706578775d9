// Listing streams in id order, by category, with or without deleted ones.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { ev } from './helpers.js';

export function listStreamsConformance(on: StoreUnderTest): void {
  describe('listing streams', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    it('lists by category in id order, with paging', async () => {
      await open();
      for (const id of ['order-2', 'order-1', 'payment-1', 'order-10', 'orderline-1']) await store.append(id, [ev('A')]);
      expect((await store.listStreams({ category: 'order' })).map((s) => s.streamId)).toEqual(['order-1', 'order-10', 'order-2']);
      expect((await store.listStreams({ category: 'order', after: 'order-1', limit: 1 })).map((s) => s.streamId)).toEqual(['order-10']);
      const all = await store.listStreams();
      expect(all.map((s) => s.streamId)).toEqual(['order-1', 'order-10', 'order-2', 'orderline-1', 'payment-1']);
      expect(all[0]).toMatchObject({ version: 1, exists: true });
    });
  });
}
