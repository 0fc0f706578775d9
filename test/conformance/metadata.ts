// Stream metadata: max count, max age, truncate-before, custom fields.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, many, sleep, versions } from './helpers.js';

export function metadataConformance(on: StoreUnderTest): void {
  describe('stream metadata', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    it('max count keeps only the latest events visible in the stream, not in $all', async () => {
      await open();
      await store.append('s-1', many(10));
      await store.setStreamMetadata('s-1', { maxCount: 3 });
      expect(versions(await collect(store.readStream('s-1')))).toEqual([8, 9, 10]);
      expect(versions(await collect(store.readStream('s-1', { direction: 'backward' })))).toEqual([10, 9, 8]);
      await store.append('s-1', many(1));
      expect(versions(await collect(store.readStream('s-1')))).toEqual([9, 10, 11]);
      expect(await collect(store.readAll())).toHaveLength(11);
      expect((await store.streamInfo('s-1')).metadata).toEqual({ maxCount: 3 });
    });

    it('truncate-before hides earlier versions', async () => {
      await open();
      await store.append('s-1', many(5));
      await store.setStreamMetadata('s-1', { truncateBefore: 4, custom: { owner: 'billing' } });
      expect(versions(await collect(store.readStream('s-1')))).toEqual([4, 5]);
      expect((await store.streamInfo('s-1')).metadata).toEqual({ truncateBefore: 4, custom: { owner: 'billing' } });
    });

    it('max age hides events older than the limit', async () => {
      await open();
      await store.append('s-1', many(2));
      await sleep(1100);
      await store.append('s-1', many(1));
      await store.setStreamMetadata('s-1', { maxAgeSeconds: 1 });
      expect(versions(await collect(store.readStream('s-1')))).toEqual([3]);
      await store.setStreamMetadata('s-1', { maxAgeSeconds: 3600 });
      expect(versions(await collect(store.readStream('s-1')))).toEqual([1, 2, 3]);
    });

    it('metadata can be set before the first event and rejects bad values', async () => {
      await open();
      await store.setStreamMetadata('s-1', { maxCount: 2 });
      expect((await store.streamInfo('s-1')).exists).toBe(false);
      await store.append('s-1', many(3), { expectedVersion: 'no_stream' });
      expect(versions(await collect(store.readStream('s-1')))).toEqual([2, 3]);
      expect((await caught(store.setStreamMetadata('s-1', { maxCount: -1 })) ).code).toBe('INVALID_ARGUMENT');
    });
  });
}
