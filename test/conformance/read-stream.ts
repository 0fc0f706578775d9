// Stream reads: direction, ranges, limits, paging, temporal queries.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, many, sleep, versions } from './helpers.js';

export function readStreamConformance(on: StoreUnderTest): void {
  describe('reading a stream', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    it('reads forward and backward, from and to a version, with a limit', async () => {
      await open();
      await store.append('s-1', many(10));
      const read = async (options: Parameters<EventStore['readStream']>[1]) => versions(await collect(store.readStream('s-1', options)));
      expect(await read({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await read({ direction: 'backward' })).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      expect(await read({ fromVersion: 4, toVersion: 6 })).toEqual([4, 5, 6]);
      expect(await read({ direction: 'backward', fromVersion: 6, toVersion: 4 })).toEqual([6, 5, 4]);
      expect(await read({ fromVersion: 8, limit: 5 })).toEqual([8, 9, 10]);
      expect(await read({ direction: 'backward', limit: 2 })).toEqual([10, 9]);
      expect(await read({ limit: 0 })).toEqual([]);
      expect(await read({ fromVersion: 11 })).toEqual([]);
    });

    it('streams page by page without losing or repeating an event', async () => {
      await open();
      await store.append('s-1', many(53));
      expect(versions(await collect(store.readStream('s-1', { pageSize: 7 })))).toEqual(Array.from({ length: 53 }, (_, i) => i + 1));
      expect(versions(await collect(store.readStream('s-1', { pageSize: 7, direction: 'backward', limit: 20 })))).toEqual(
        Array.from({ length: 20 }, (_, i) => 53 - i),
      );
    });

    it('reads nothing from a stream that does not exist', async () => {
      await open();
      expect(await collect(store.readStream('nope-1'))).toEqual([]);
      expect(await store.streamInfo('nope-1')).toMatchObject({ version: 0, exists: false, softDeleted: false, tombstoned: false });
    });

    it('answers temporal queries: the stream as of a time and as of a version', async () => {
      await open();
      await store.append('s-1', many(3));
      await sleep(30);
      const between = new Date();
      await sleep(30);
      await store.append('s-1', many(2));
      expect(versions(await collect(store.readStream('s-1', { asOf: between })))).toEqual([1, 2, 3]);
      expect(versions(await collect(store.readStream('s-1', { asOf: new Date(0) })))).toEqual([]);
      expect(versions(await collect(store.readStream('s-1', { toVersion: 2 })))).toEqual([1, 2]);
    });

    it('rejects bad read options with typed errors', async () => {
      await open();
      for (const options of [{ limit: -1 }, { pageSize: 0 }, { fromVersion: 1.5 }, { asOf: new Date('nope') }, { direction: 'sideways' }]) {
        expect((await caught(collect(store.readStream('s-1', options as never)))).code).toBe('INVALID_ARGUMENT');
      }
    });
  });
}
