// Re-appending the same event ids returns the first result and writes nothing.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { isIdempotencyConflict } from '../../src/core/errors.js';
import { uuidv7 } from '../../src/core/uuid.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, ev, versions } from './helpers.js';

export function idempotencyConformance(on: StoreUnderTest): void {
  describe('idempotent append', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    it('appending the same ids again returns the first result and writes nothing', async () => {
      await open();
      const batch = [ev('A', 1, { id: uuidv7() }), ev('B', 2, { id: uuidv7() })];
      const first = await store.append('s-1', batch, { expectedVersion: 'no_stream' });
      await store.append('s-1', [ev('C')]);
      // A retry after a lost reply: same ids, same (now stale) expected version.
      const again = await store.append('s-1', batch, { expectedVersion: 'no_stream' });
      expect(again).toEqual({ ...first, alreadyAppended: true });
      const againAny = await store.append('s-1', batch);
      expect(againAny.positions).toEqual(first.positions);
      // A suffix of the original batch is the same run at the same positions too.
      const tail = await store.append('s-1', [batch[1]!]);
      expect(tail.positions).toEqual([first.positions[1]]);
      expect(versions((await store.loadStream('s-1')).events)).toEqual([1, 2, 3]);
      expect(await collect(store.readAll())).toHaveLength(3);
    });

    it('a partial overlap is an error and writes nothing', async () => {
      await open();
      const a = ev('A', 1, { id: uuidv7() });
      const b = ev('B', 2, { id: uuidv7() });
      await store.append('s-1', [a, b]);
      const partial = await caught(store.append('s-1', [b, ev('C', 3, { id: uuidv7() })]));
      expect(isIdempotencyConflict(partial)).toBe(true);
      expect(partial.code).toBe('IDEMPOTENCY_CONFLICT');
      const reordered = await caught(store.append('s-1', [b, a]));
      expect(isIdempotencyConflict(reordered)).toBe(true);
      const otherStream = await caught(store.append('s-2', [a]));
      expect(isIdempotencyConflict(otherStream)).toBe(true);
      expect(versions((await store.loadStream('s-1')).events)).toEqual([1, 2]);
      expect((await store.streamInfo('s-2')).exists).toBe(false);
      expect(await collect(store.readAll())).toHaveLength(2);
    });

    it('rejects one id twice in one append', async () => {
      await open();
      const id = uuidv7();
      expect((await caught(store.append('s-1', [ev('A', 1, { id }), ev('B', 1, { id })]))).code).toBe('INVALID_EVENT');
    });
  });
}
