// Inputs no store could keep faithfully (lone surrogates, BigInt, non-string metadata keys) are refused alike.
import { describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { NewEvent } from '../../src/core/message.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { collect, ev } from './helpers.js';

export function faithfulInputsConformance(on: StoreUnderTest): void {
  describe('inputs no store could keep faithfully are refused the same way everywhere', () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreUnderTest['open']>[0]) => (store = await on.open(options));
    const surrogates: Array<[string, NewEvent, string]> = [
      ['a lone high surrogate in a data string', ev('A', { s: 'x\uD800' }), 'data.s'],
      ['a lone low surrogate in a nested data string', ev('A', { list: ['ok', { s: '\uDC00y' }] }), 'data.list[1].s'],
      ['a lone surrogate in a data key', ev('A', { nested: { ['k\uDBFF']: 1 } }), 'data.nested'],
      ['a lone surrogate in metadata', ev('A', {}, { metadata: { note: '\uD800' } }), 'metadata.note'],
    ];
    for (const [name, bad, path] of surrogates) {
      it(`refuses ${name} with INVALID_EVENT and its path`, async () => {
        await open();
        const error = await caught(store.append('s-1', [ev('Fine'), bad]));
        expect(error).toMatchObject({ code: 'INVALID_EVENT', details: { index: 1, path } });
        expect(error.message).toContain('lone UTF-16 surrogate');
        expect(await store.headPosition()).toBe(0n);
      });
    }

    it('refuses stream ids and types with lone surrogates, so two such ids never become one stream', async () => {
      await open();
      for (const streamId of ['sur-\uD800', 'sur-\uDBFF', 'sur-\uDC00-x']) {
        const error = await caught(store.append(streamId, [ev('A')]));
        expect(error.code).toBe('INVALID_STREAM_ID');
        expect(error.message).toContain('lone UTF-16 surrogate');
        expect((await caught(store.streamInfo(streamId))).code).toBe('INVALID_STREAM_ID');
      }
      expect((await caught(store.append('s-1', [ev('Bad\uD800')]))).code).toBe('INVALID_EVENT');
      expect(await store.headPosition()).toBe(0n);
    });

    it('keeps surrogate pairs (emoji, astral characters) exactly, in ids, types and data', async () => {
      await open();
      await store.append('emoji-😀', [ev('Smiled😀', { face: '😀', ['k𝄞']: '𝄞' }, { metadata: { note: '🎉' } })]);
      const [event] = await collect(store.readStream('emoji-😀'));
      expect(event).toMatchObject({ streamId: 'emoji-😀', type: 'Smiled😀', data: { face: '😀', ['k𝄞']: '𝄞' }, metadata: { note: '🎉' } });
    });

    const badMetadata: Array<[string, Record<string, unknown>, string]> = [
      ['a number as correlationId', { correlationId: 5 }, 'correlationId'],
      ['an object as causationId', { causationId: { id: 'x' } }, 'causationId'],
      ['a boolean as userId', { userId: true }, 'userId'],
      ['null as correlationId', { correlationId: null }, 'correlationId'],
    ];
    for (const [name, metadata, key] of badMetadata) {
      it(`refuses ${name}: the well-known metadata keys are strings`, async () => {
        await open();
        const error = await caught(store.append('s-1', [ev('A', {}, { metadata: metadata as NewEvent['metadata'] })]));
        expect(error).toMatchObject({ code: 'INVALID_EVENT', details: { index: 0, path: `metadata.${key}` } });
        expect(error.message).toContain(`metadata.${key} must be a string`);
        expect(await store.headPosition()).toBe(0n);
      });
    }

    it('says what is wrong with an undefined property, and what to do instead', async () => {
      await open();
      const error = await caught(store.append('s-1', [ev('A', { a: undefined })]));
      expect(error).toMatchObject({ code: 'INVALID_EVENT', details: { path: 'data.a' } });
      expect(error.message).toContain('data.a is undefined: leave the property out or set it to null');
      const element = await caught(store.append('s-1', [ev('A', { list: [1, undefined] })]));
      expect(element.message).toContain('data.list[1] is undefined');
      // Undefined metadata values are dropped, as "not set".
      await store.append('s-1', [ev('A', {}, { metadata: { correlationId: undefined, note: 'kept' } })]);
      const [event] = await collect(store.readStream('s-1'));
      expect(event!.metadata).toEqual({ note: 'kept' });
    });

    it('names the path of a BigInt', async () => {
      await open();
      const error = await caught(store.append('s-1', [ev('A', { amounts: [1, 2n] })]));
      expect(error).toMatchObject({ code: 'INVALID_EVENT', details: { path: 'data.amounts[1]' } });
      expect(error.message).toContain('BigInt');
    });
  });
}
