// Soft delete and tombstone (hard delete).
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { isConcurrencyError, isStreamTombstoned } from '../../src/core/errors.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, ev, many } from './helpers.js';

export function deletionConformance(on: StoreUnderTest): void {
  describe('deletion', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    it('soft delete hides the stream; it can be recreated and versions continue', async () => {
      await open();
      await store.append('s-1', many(3));
      await store.append('s-2', many(1));
      await store.deleteStream('s-1', { expectedVersion: 3 });
      expect(await collect(store.readStream('s-1'))).toEqual([]);
      expect(await store.streamInfo('s-1')).toMatchObject({ exists: false, softDeleted: true, tombstoned: false, version: 3 });
      expect((await store.listStreams()).map((s) => s.streamId)).toEqual(['s-2']);
      expect((await store.listStreams({ includeDeleted: true })).map((s) => s.streamId)).toEqual(['s-1', 's-2']);
      const again = await store.append('s-1', [ev('Again')], { expectedVersion: 'no_stream' });
      expect(again.nextExpectedVersion).toBe(4);
      const events = await collect(store.readStream('s-1'));
      expect(events.map((e) => [e.streamVersion, e.type])).toEqual([[4, 'Again']]);
      const deletedAgain = await caught(store.append('s-1', [ev('Late')], { expectedVersion: 3 }));
      expect(deletedAgain).toMatchObject({ code: 'CONCURRENCY_CONFLICT', actualVersion: 4 });
      expect((await store.streamInfo('s-1')).exists).toBe(true);
      await store.append('s-1', [ev('Next')], { expectedVersion: 4 });
      expect(await caught(store.append('s-1', [ev('Stale')], { expectedVersion: 4 }))).toMatchObject({ code: 'CONCURRENCY_CONFLICT', actualVersion: 5 });
      expect(await caught(store.append('s-1', [ev('New')], { expectedVersion: 'no_stream' }))).toMatchObject({ code: 'CONCURRENCY_CONFLICT', actualVersion: 5 });
      // The log keeps the facts: $all still holds the soft-deleted events.
      expect(await collect(store.readAll({ categories: ['s'] }))).toHaveLength(6);
    });

    it('deletion checks the expected version', async () => {
      await open();
      await store.append('s-1', many(2));
      expect(isConcurrencyError(await caught(store.deleteStream('s-1', { expectedVersion: 1 })))).toBe(true);
      expect(isConcurrencyError(await caught(store.tombstoneStream('s-1', { expectedVersion: 'no_stream' })))).toBe(true);
      expect((await store.streamInfo('s-1')).exists).toBe(true);
    });

    it('a tombstone removes the events and the stream can never be written again', async () => {
      await open();
      const kept = await store.append('s-2', many(1));
      await store.append('s-1', many(3));
      const last = await store.append('s-3', many(1));
      await store.tombstoneStream('s-1');
      expect(await collect(store.readStream('s-1'))).toEqual([]);
      expect(await store.streamInfo('s-1')).toMatchObject({ exists: false, tombstoned: true });
      for (const expectedVersion of ['any', 'no_stream', 3] as const) {
        expect(isStreamTombstoned(await caught(store.append('s-1', [ev('A')], { expectedVersion })))).toBe(true);
      }
      expect((await caught(store.tombstoneStream('s-1'))).code).toBe('STREAM_TOMBSTONED');
      expect((await caught(store.deleteStream('s-1'))).code).toBe('STREAM_TOMBSTONED');
      expect((await caught(store.setStreamMetadata('s-1', { maxCount: 1 }))).code).toBe('STREAM_TOMBSTONED');
      // The hole it leaves in $all is passed, not waited on.
      const all = await collect(store.readAll());
      expect(all.map((e) => e.globalPosition)).toEqual([kept.lastPosition, last.lastPosition]);
      const page = await store.readAllPage({ after: kept.lastPosition });
      expect(page.events.map((e) => e.streamId)).toEqual(['s-3']);
      expect(page.waitingOn).toBeUndefined();
    });
  });
}
