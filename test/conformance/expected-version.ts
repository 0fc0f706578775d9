// Every expected-version mode is enforced, and a conflict says what it found.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { isConcurrencyError } from '../../src/core/errors.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, ev, many } from './helpers.js';

export function expectedVersionConformance(on: StoreUnderTest): void {
  describe('expected version', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    it("'any' appends whatever the state", async () => {
      await open();
      await store.append('s-1', [ev('A')], { expectedVersion: 'any' });
      await store.append('s-1', [ev('B')]);
      expect((await store.streamInfo('s-1')).version).toBe(2);
    });

    it("'no_stream' succeeds on a new stream and fails on an existing one", async () => {
      await open();
      await store.append('s-1', [ev('A')], { expectedVersion: 'no_stream' });
      const error = await caught(store.append('s-1', [ev('B')], { expectedVersion: 'no_stream' }));
      expect(isConcurrencyError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', expectedVersion: 'no_stream', actualVersion: 1, streamExists: true, streamId: 's-1' });
      expect((await store.streamInfo('s-1')).version).toBe(1);
    });

    it("'stream_exists' fails on a new stream and succeeds on an existing one", async () => {
      await open();
      const error = await caught(store.append('s-1', [ev('A')], { expectedVersion: 'stream_exists' }));
      expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', expectedVersion: 'stream_exists', actualVersion: 0, streamExists: false });
      expect((await store.streamInfo('s-1')).exists).toBe(false);
      await store.append('s-1', [ev('A')]);
      await store.append('s-1', [ev('B')], { expectedVersion: 'stream_exists' });
      expect((await store.streamInfo('s-1')).version).toBe(2);
    });

    it('an exact version must match; 0 means no events yet', async () => {
      await open();
      await store.append('s-1', [ev('A')], { expectedVersion: 0 });
      await store.append('s-1', many(2), { expectedVersion: 1 });
      const stale = await caught(store.append('s-1', [ev('C')], { expectedVersion: 1 }));
      expect(stale).toMatchObject({ code: 'CONCURRENCY_CONFLICT', expectedVersion: 'version 1', actualVersion: 3 });
      const ahead = await caught(store.append('s-1', [ev('C')], { expectedVersion: 7 }));
      expect(ahead).toMatchObject({ code: 'CONCURRENCY_CONFLICT', actualVersion: 3 });
      const zero = await caught(store.append('s-1', [ev('C')], { expectedVersion: 0 }));
      expect(isConcurrencyError(zero)).toBe(true);
      expect((await store.streamInfo('s-1')).version).toBe(3);
    });

    it('rejects malformed expected versions with a typed error', async () => {
      await open();
      for (const bad of [-1, 1.5, 'latest', null, Number.NaN]) {
        expect((await caught(store.append('s-1', [ev('A')], { expectedVersion: bad as never }))).code).toBe('INVALID_ARGUMENT');
      }
      expect(await store.headPosition()).toBe(0n);
    });

    it('a conflicting append writes nothing, not even part of its batch', async () => {
      await open();
      await store.append('s-1', [ev('A')]);
      const head = await store.headPosition();
      await caught(store.append('s-1', many(5), { expectedVersion: 0 }));
      expect((await store.loadStream('s-1')).events).toHaveLength(1);
      const all = await collect(store.readAll());
      expect(all).toHaveLength(1);
      expect(await store.headPosition()).toBeGreaterThanOrEqual(head);
    });
  });
}
