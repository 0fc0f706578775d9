// Bad input gets a typed error and writes nothing; a closed store refuses every call.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { NewEvent } from '../../src/core/message.js';
import { isStoreClosed } from '../../src/core/errors.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, ev } from './helpers.js';

export function validationConformance(on: StoreUnderTest): void {
  describe('bad input gets a typed error and writes nothing', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const badStreams: Array<[string, unknown]> = [
      ['empty', ''],
      ['too long', 'x'.repeat(256)],
      ['not a string', 42],
      ['control characters', 'a\u0000b'],
      ['newline', 'a\nb'],
      ['reserved $', '$all'],
      ['surrounding spaces', ' s-1'],
    ];
    for (const [name, streamId] of badStreams) {
      it(`rejects a stream id: ${name}`, async () => {
        await open();
        const error = await caught(store.append(streamId as string, [ev('A')]));
        expect(error.code).toBe('INVALID_STREAM_ID');
        expect(await store.headPosition()).toBe(0n);
      });
    }
    const badEvents: Array<[string, unknown, string]> = [
      ['type not a string', { type: 7, data: {} }, 'INVALID_EVENT'],
      ['empty type', { type: '', data: {} }, 'INVALID_EVENT'],
      ['missing data', { type: 'A' }, 'INVALID_EVENT'],
      ['a function in data', { type: 'A', data: { f: () => 1 } }, 'INVALID_EVENT'],
      ['NaN in data', { type: 'A', data: { n: Number.NaN } }, 'INVALID_EVENT'],
      ['Infinity in data', { type: 'A', data: [Infinity] }, 'INVALID_EVENT'],
      ['a Date in data', { type: 'A', data: { at: new Date() } }, 'INVALID_EVENT'],
      ['a BigInt in data', { type: 'A', data: { n: 1n } }, 'INVALID_EVENT'],
      ['a circular structure', { type: 'A', data: circular }, 'INVALID_EVENT'],
      ['undefined in an array', { type: 'A', data: [undefined] }, 'INVALID_EVENT'],
      ['a NUL character in a string', { type: 'A', data: { s: 'a\u0000' } }, 'INVALID_EVENT'],
      ['a bad id', { type: 'A', data: {}, id: 'not-a-uuid' }, 'INVALID_EVENT'],
      ['a bad schema version', { type: 'A', data: {}, schemaVersion: 0 }, 'INVALID_EVENT'],
      ['metadata not an object', { type: 'A', data: {}, metadata: 'x' }, 'INVALID_EVENT'],
      ['not an object', 'OrderPlaced', 'INVALID_EVENT'],
    ];
    for (const [name, bad, code] of badEvents) {
      it(`rejects an event: ${name}, and the valid events around it`, async () => {
        await open();
        const error = await caught(store.append('s-1', [ev('Fine'), bad as NewEvent, ev('Fine')]));
        expect(error.code).toBe(code);
        expect(error.details.index).toBe(1);
        expect(await store.headPosition()).toBe(0n);
        expect((await store.streamInfo('s-1')).exists).toBe(false);
      });
    }

    it('rejects an event over the size limit (configurable, 1 MiB by default)', async () => {
      await open();
      const big = 'x'.repeat(1024 * 1024);
      const error = await caught(store.append('s-1', [ev('Big', { big })]));
      expect(error).toMatchObject({ code: 'EVENT_TOO_LARGE', details: { limit: 1024 * 1024, type: 'Big' } });
      await store.append('s-1', [ev('Fits', { s: 'x'.repeat(1000 * 1000) })]);
      await store.close();
      await open({ limits: { maxEventBytes: 100 } });
      expect((await caught(store.append('s-1', [ev('Small', { s: 'x'.repeat(101) })]))).code).toBe('EVENT_TOO_LARGE');
      expect(await store.headPosition()).toBe(0n);
    });

    it('fails every call on a closed store with STORE_CLOSED', async () => {
      await open();
      await store.append('s-1', [ev('A')]);
      await store.close();
      await store.close(); // closing twice is harmless
      const calls: Array<() => Promise<unknown>> = [
        () => store.append('s-1', [ev('B')]),
        () => collect(store.readStream('s-1')),
        () => store.loadStream('s-1'),
        () => store.readAllPage(),
        () => collect(store.readAll()),
        () => store.headPosition(),
        () => store.streamInfo('s-1'),
        () => store.setStreamMetadata('s-1', {}),
        () => store.deleteStream('s-1'),
        () => store.tombstoneStream('s-1'),
        () => store.listStreams(),
      ];
      for (const call of calls) expect(isStoreClosed(await caught(call()))).toBe(true);
    });
  });
}
