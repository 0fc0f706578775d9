/**
 * The event store conformance suite: every rule of the EventStore port, run against every
 * store (memory, PGlite, PostgreSQL) so that they cannot drift apart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../src/core/event-store.js';
import type { NewEvent, RecordedEvent } from '../src/core/message.js';
import { isConcurrencyError, isIdempotencyConflict, isStoreClosed, isStreamTombstoned } from '../src/core/errors.js';
import { isUuid, uuidv7 } from '../src/core/uuid.js';
import type { StoreFactory } from './stores.js';
import { caught } from './caught.js';

const ev = (type: string, data: unknown = { n: 1 }, extra: Partial<NewEvent> = {}): NewEvent => ({ type, data, ...extra });
const many = (n: number, type = 'Counted'): NewEvent[] => Array.from({ length: n }, (_, i) => ev(type, { i }));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const versions = (events: RecordedEvent[]) => events.map((e) => e.streamVersion);

export function eventStoreConformance(factory: StoreFactory): void {
  const name = factory.label ?? factory.name;
  const label = factory.skip ? `${name} (skipped: ${factory.skip})` : name;
  describe.skipIf(Boolean(factory.skip))(`event store conformance: ${label}`, () => {
    let store: EventStore;
    const open = async (options?: Parameters<StoreFactory['open']>[0]) => {
      store = await factory.open(options);
      return store;
    };
    // Each test's store gives its connections back, so that the suites of several stores fit the server's limit.
    afterEach(() => store?.close());

    describe('append and read back', () => {
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

    describe('expected version', () => {
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

    describe('idempotent append', () => {
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

    describe('reading a stream', () => {
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

    describe('reading $all', () => {
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

    describe('stream metadata', () => {
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

    describe('deletion', () => {
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

    describe('listing streams', () => {
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

    describe('bad input gets a typed error and writes nothing', () => {
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

    describe('inputs no store could keep faithfully are refused the same way everywhere', () => {
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
  });
}
