// Appends are atomic and read back exactly as written.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { RecordedEvent } from '../../src/core/message.js';
import { isUuid, uuidv7 } from '../../src/core/uuid.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, ev } from './helpers.js';

export function appendConformance(on: StoreUnderTest): void {
  describe('append and read back', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    it('records every field and numbers versions from 1', async () => {
      await open();
      const id = uuidv7();
      const result = await store.append('order-1', [
        ev('OrderPlaced', { total: 42, lines: [{ sku: 'a', qty: 2 }] }, { id, metadata: { correlationId: 'c-1', causationId: 'k-1', userId: 'u', tenant: 't' }, schemaVersion: 2 }),
        ev('OrderPaid', null),
      ]);
      expect(result.nextExpectedVersion).toBe(2);
      expect(result.positions).toHaveLength(2);
      expect(result.positions[1]! > result.positions[0]!).toBe(true);
      expect(result.alreadyAppended).toBe(false);
      const { events, info } = await store.loadStream('order-1');
      expect(info).toMatchObject({ version: 2, exists: true, softDeleted: false, tombstoned: false });
      expect(events).toHaveLength(2);
      const [first, second] = events as [RecordedEvent, RecordedEvent];
      expect(first).toMatchObject({
        id,
        type: 'OrderPlaced',
        data: { total: 42, lines: [{ sku: 'a', qty: 2 }] },
        metadata: { correlationId: 'c-1', causationId: 'k-1', userId: 'u', tenant: 't' },
        schemaVersion: 2,
        streamId: 'order-1',
        streamVersion: 1,
        globalPosition: result.positions[0],
      });
      expect(first.recordedAt).toBeInstanceOf(Date);
      expect(Math.abs(first.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(second).toMatchObject({ type: 'OrderPaid', data: null, schemaVersion: 1, streamVersion: 2, metadata: {} });
      expect(isUuid(second.id)).toBe(true);
      expect(second.id[14]).toBe('7'); // generated ids are UUIDv7
    });

    it('keeps stored facts apart from the caller objects', async () => {
      await open();
      const data = { list: [1] };
      await store.append('s-1', [ev('T', data)]);
      data.list.push(2);
      const [read] = await collect(store.readStream('s-1'));
      expect(read!.data).toEqual({ list: [1] });
    });

    it('rejects an empty append and a non-array', async () => {
      await open();
      expect((await caught(store.append('s-1', []))).code).toBe('INVALID_ARGUMENT');
      expect((await caught(store.append('s-1', 'x' as never))).code).toBe('INVALID_ARGUMENT');
    });

    it('stores odd but valid stream ids and unicode data faithfully', async () => {
      await open();
      const ids = ['order-1-2', 'a b', "quote'd\"id", 'émoji-🎉', 'x'.repeat(255), 'back\\slash', '100%_like'];
      for (const id of ids) await store.append(id, [ev('T', { text: 'ünïcødé 🎉 \\ " \' \n' })]);
      for (const id of ids) {
        const { events } = await store.loadStream(id);
        expect(events.map((e) => e.streamId)).toEqual([id]);
        expect(events[0]!.data).toEqual({ text: 'ünïcødé 🎉 \\ " \' \n' });
      }
      expect((await store.loadStream('100%_lik')).events).toHaveLength(0);
    });
  });
}
