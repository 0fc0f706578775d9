// What differs between stores is declared by the store, read through one function, and passes a
// registry wrapper untouched: capabilities, the side object, SQL access, the inline hook.
import { describe, expect, it } from 'vitest';
import { afterAll } from 'vitest';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';
import { caught } from '../../test/caught.js';
import { ownStore } from '../../test/own-store.js';
import type { RecordedEvent } from '../core/message.js';
import { NO_CAPABILITIES, storeCapabilities } from '../core/store-capabilities.js';
import { snapshotStoreFor } from '../domain/snapshots/snapshot-store-for.js';
import { EventRegistry } from '../schema/event-registry.js';
import { importEvents } from './import/import-events.js';
import { installInlineHook } from './inline-hook.js';
import { MemoryEventStore } from './memory/memory-event-store.js';
import { sqlAccess } from './sql-access.js';
import { ServiceKey, storeServices } from './store-services.js';

afterAll(() => dropSchemas(createdSchemas));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const COUNTER = new ServiceKey<{ n: number }>('test.counter');

describeOnStores('store capabilities', (on) => {
  it('a registry wrapper declares what the store declares', async () => {
    const store = await on.open();
    const wrapped = new EventRegistry().wrap(new EventRegistry().wrap(store));
    expect(storeCapabilities(store)).toEqual(on.factory.capabilities);
    expect(storeCapabilities(wrapped)).toBe(storeCapabilities(store));
  });

  it('one side object per store, shared by every registry wrapped around it', async () => {
    const store = await on.open();
    const wrapped = new EventRegistry().wrap(store);
    expect(storeServices(wrapped)).toBe(storeServices(store));
    expect(storeServices(new EventRegistry().wrap(wrapped))).toBe(storeServices(store));
    const counter = storeServices(wrapped).get(COUNTER, () => ({ n: 1 }));
    expect(storeServices(store).get(COUNTER, () => ({ n: 2 }))).toBe(counter);
    expect(storeServices(await on.open()).peek(COUNTER)).toBeUndefined();
  });

  it('snapshotStoreFor gives one snapshot store per store, wrapped or not', async () => {
    const store = await on.open();
    const snapshots = snapshotStoreFor(store);
    expect(snapshotStoreFor(store)).toBe(snapshots);
    expect(snapshotStoreFor(new EventRegistry().wrap(store))).toBe(snapshots);
    await snapshots.save({ streamId: 'cart-1', name: 'cart', snapshotVersion: 1, streamVersion: 3, fromVersion: 1, state: { items: 2 } });
    expect((await snapshotStoreFor(new EventRegistry().wrap(store)).load('cart-1', 'cart', 1))?.state).toEqual({ items: 2 });
  });

  it('installInlineHook through a wrapper runs in the appends of the store', async () => {
    const store = await on.open();
    const seen: { ids: string[]; inTransaction: boolean }[] = [];
    installInlineHook(new EventRegistry().wrap(store), (events, tx) => {
      seen.push({ ids: events.map((e) => e.id), inTransaction: tx !== undefined });
    });
    const { positions } = await store.append('cart-1', [{ type: 'ItemAdded', data: {} }, { type: 'ItemAdded', data: {} }]);
    const events = await collect(store.readStream('cart-1'));
    expect(positions).toHaveLength(2);
    expect(seen).toEqual([{ ids: events.map((e) => e.id), inTransaction: storeCapabilities(store).sql }]);
    installInlineHook(store, undefined);
    await store.append('cart-1', [{ type: 'ItemAdded', data: {} }]);
    expect(seen).toHaveLength(1);
  });

  it('sqlAccess is there exactly when the store declares sql', async () => {
    const store = await on.open();
    expect(sqlAccess(store) !== undefined).toBe(storeCapabilities(store).sql);
    expect(sqlAccess(new EventRegistry().wrap(store))).toBe(sqlAccess(store));
  });
});

describeOnStores('SQL access', (on) => {
  it('reads the log as recorded events, through a registry wrapper, in a transaction of its own', async () => {
    const store = await on.open();
    await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 }, metadata: { correlationId: 'c-1' } }]);
    const sql = sqlAccess(new EventRegistry().wrap(store))!;
    const rows = await sql.transaction(async (tx) =>
      (await tx.query<RecordedEvent>(`SELECT ${sql.eventColumns} FROM ${sql.names.s}events e ORDER BY global_position`, [], { parsers: sql.eventParsers })).rows,
    );
    expect(rows).toEqual(await collect(store.readAll()));
    expect(sql.storageError('probe', new Error('boom'))).toMatchObject({ code: 'STORAGE_ERROR', details: { operation: 'probe' } });
  });
}, { needs: ['sql'] });

describe('a store of your own that declares nothing', () => {
  it('has no capabilities, and a side object that its registry wrappers share', async () => {
    const store = ownStore(new MemoryEventStore());
    const wrapped = new EventRegistry().wrap(store);
    expect(storeCapabilities(store)).toBe(NO_CAPABILITIES);
    expect(storeCapabilities(wrapped)).toEqual(NO_CAPABILITIES);
    expect(storeServices(wrapped)).toBe(storeServices(store));
    expect(sqlAccess(wrapped)).toBeUndefined();
  });

  it('gets no snapshot store in memory (its log may be durable), and no inline hook', async () => {
    const store = ownStore(new MemoryEventStore());
    expect((await caught(Promise.resolve().then(() => snapshotStoreFor(new EventRegistry().wrap(store))))).code).toBe('INVALID_ARGUMENT');
    expect((await caught(Promise.resolve().then(() => installInlineHook(store, () => {}))))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('imports by appends', async () => {
    const inner = new MemoryEventStore();
    const result = await importEvents(ownStore(inner), [
      { streamId: 'a-1', type: 'Imported', data: { i: 1 } },
      { streamId: 'a-1', type: 'Imported', data: { i: 2 } },
      { streamId: 'b-1', type: 'Imported', data: { i: 3 } },
    ]);
    expect(result).toEqual({ events: 3, lastPosition: 3n });
    expect((await collect(inner.readAll())).map((e) => [e.streamId, e.streamVersion])).toEqual([['a-1', 1], ['a-1', 2], ['b-1', 1]]);
  });
});
