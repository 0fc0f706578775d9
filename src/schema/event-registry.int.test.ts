// Event schemas on every store: appends are validated (nothing written on failure), and every
// reader sees events upcast through two versions while the stored events stay as written.
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createdSchemas, dropSchemas } from '../../test/stores.js';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { isValidationError } from '../core/errors.js';
import type { NewEvent, RecordedEvent } from '../core/message.js';
import type { EventStore } from '../core/event-store.js';
import type { Decider } from '../domain/decider.js';
import { handleCommand } from '../domain/handle-command.js';
import { Subscription } from '../consumers/subscription.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import { sqlAccess } from '../store/sql-access.js';
import { storeServices } from '../store/store-services.js';
import { EventRegistry } from './event-registry.js';
import { eventRegistryOf, unwrapEventStore } from './registered-event-store.js';
import { isEventSchemaViolationError, type EventSchemaViolationError } from './event-schema-violation-error.js';
import { defineEvent } from './event-type.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { caught } from '../../test/caught.js';

/** The store as an untyped caller sees it: these tests send what the registry's types would refuse at compile time. */
const untyped = (store: EventStore): EventStore => store;

// v1 { sku } → v2 adds quantity → v3 nests the product and renames the count.
const ItemAdded = defineEvent('ItemAdded', z.object({ sku: z.string() }))
  .withVersion(2, z.object({ sku: z.string(), quantity: z.number().int().positive() }), (v1) => ({ ...v1, quantity: 1 }))
  .withVersion(3, z.object({ product: z.object({ sku: z.string() }), count: z.number().int().positive() }), (v2) => ({ product: { sku: v2.sku }, count: v2.quantity }));

// A schema written by hand against Standard Schema: no library involved.
const positiveTotal: StandardSchemaV1<{ total: number }> = {
  '~standard': {
    version: 1,
    vendor: 'hand-made',
    validate: (value) => {
      const total = (value as { total?: unknown } | null)?.total;
      return typeof total === 'number' && total > 0 ? { value: { total } } : { issues: [{ message: 'must be a positive number', path: ['total'] }] };
    },
  },
};
const CartCheckedOut = defineEvent('CartCheckedOut', positiveTotal);


async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

afterAll(() => dropSchemas(createdSchemas));

describeOnStores('event registry', (on) => {
  const f = on.factory;
  const open = async (strict = false) => {
    const inner = await on.open();
    return { inner, store: new EventRegistry([ItemAdded, CartCheckedOut], { strict }).wrap(inner) };
  };

  it('rejects an invalid event with a typed error naming the type and the failing path, and writes nothing', async () => {
    const { store, inner } = await open();
    await store.append('cart-1', [ItemAdded.create({ product: { sku: 'a' }, count: 1 })]);
    const head = await inner.headPosition();
    const error = await caught(
      untyped(store).append('cart-1', [ItemAdded.create({ product: { sku: 'b' }, count: 2 }), { type: 'ItemAdded', data: { product: { sku: 42 }, count: 0 } }]),
    );
    expect(isEventSchemaViolationError(error)).toBe(true);
    expect(isValidationError(error)).toBe(true);
    const violation = error as EventSchemaViolationError;
    expect(violation).toMatchObject({ code: 'EVENT_SCHEMA_VIOLATION', eventType: 'ItemAdded', schemaVersion: 3, index: 1, path: 'product.sku' });
    expect(violation.issues.map((i) => i.path)).toEqual(['product.sku', 'count']);
    expect(violation.message).toMatch(/Event #1 \(ItemAdded v3\).*product\.sku: .*count: /);
    // Neither event of the append was written.
    expect(await inner.headPosition()).toBe(head);
    expect((await inner.streamInfo('cart-1')).version).toBe(1);

    const hand = await caught(store.append('cart-1', [CartCheckedOut.create({ total: -1 })]));
    expect(hand).toMatchObject({ code: 'EVENT_SCHEMA_VIOLATION', eventType: 'CartCheckedOut', path: 'total' });
    expect(hand.message).toContain('total: must be a positive number');
  });

  it('validates old versions against their own schema, refuses unknown versions, and in strict mode unknown types', async () => {
    const { store, inner } = await open(true);
    await untyped(store).append('cart-2', [{ type: 'ItemAdded', schemaVersion: 1, data: { sku: 'a' } }]);
    expect(await caught(untyped(store).append('cart-2', [{ type: 'ItemAdded', schemaVersion: 2, data: { sku: 'a' } }]))).toMatchObject({ path: 'quantity', schemaVersion: 2 });
    expect(await caught(untyped(store).append('cart-2', [{ type: 'ItemAdded', schemaVersion: 4, data: {} }]))).toMatchObject({ path: '(schemaVersion)' });
    expect(await caught(untyped(store).append('cart-2', [{ type: 'Unknown', data: {} }]))).toMatchObject({ code: 'EVENT_SCHEMA_VIOLATION', path: '(type)' });
    const loose = new EventRegistry([ItemAdded]).wrap(inner);
    await untyped(loose).append('cart-2', [{ type: 'Unknown', data: {} }]);
    expect((await inner.streamInfo('cart-2')).version).toBe(2);
  });

  it('upcasts v1 and v2 events to v3 for every reader; the stored events never change', async () => {
    const { store, inner } = await open();
    // Written long ago by older code, straight into the log.
    await inner.append('cart-9', [
      { type: 'ItemAdded', schemaVersion: 1, data: { sku: 'old' } },
      { type: 'ItemAdded', schemaVersion: 2, data: { sku: 'mid', quantity: 3 } },
    ]);
    await store.append('cart-9', [ItemAdded.create({ product: { sku: 'new' }, count: 5 }), CartCheckedOut.create({ total: 9 })]);
    const expected = [
      { type: 'ItemAdded', schemaVersion: 3, data: { product: { sku: 'old' }, count: 1 } },
      { type: 'ItemAdded', schemaVersion: 3, data: { product: { sku: 'mid' }, count: 3 } },
      { type: 'ItemAdded', schemaVersion: 3, data: { product: { sku: 'new' }, count: 5 } },
      { type: 'CartCheckedOut', schemaVersion: 1, data: { total: 9 } },
    ];
    const shape = (events: RecordedEvent[]) => events.map(({ type, schemaVersion, data }) => ({ type, schemaVersion, data }));
    expect(shape(await collect(store.readStream('cart-9')))).toEqual(expected);
    expect(shape((await store.loadStream('cart-9')).events)).toEqual(expected);
    expect(shape(await collect(store.readAll()))).toEqual(expected);
    expect(shape((await store.readAllPage({ limit: 10 })).events)).toEqual(expected);
    expect(shape(await collect(store.readStream('cart-9', { direction: 'backward', limit: 2 })))).toEqual(expected.slice(2).reverse());
    expect(shape(await collect(store.readAll({ types: ['ItemAdded'] })))).toEqual(expected.slice(0, 3));
    // The log still holds what was written.
    expect((await inner.loadStream('cart-9')).events.map((e) => [e.schemaVersion, e.data])).toEqual([
      [1, { sku: 'old' }],
      [2, { sku: 'mid', quantity: 3 }],
      [3, { product: { sku: 'new' }, count: 5 }],
      [1, { total: 9 }],
    ]);
  });

  it('a subscription on the wrapped store (what projections run on) receives upcast events', async () => {
    const { store, inner } = await open();
    await inner.append('cart-sub', [{ type: 'ItemAdded', schemaVersion: 1, data: { sku: 'old' } }]);
    const { lastPosition } = await store.append('cart-sub', [ItemAdded.create({ product: { sku: 'new' }, count: 2 })]);
    const seen: unknown[] = [];
    const subscription = new Subscription(store, { name: `upcast-${f.name}`, handler: (event) => void seen.push([event.schemaVersion, event.data]) });
    await subscription.start();
    try {
      await subscription.waitFor(lastPosition, { timeoutMs: 30_000 });
    } finally {
      await subscription.stop();
    }
    expect(seen).toEqual([
      [3, { product: { sku: 'old' }, count: 1 }],
      [3, { product: { sku: 'new' }, count: 2 }],
    ]);
  });

  it('handleCommand on a wrapped store: decided events are validated and stored at the current version', async () => {
    const { store, inner } = await open();
    const decider: Decider<number, { sku: unknown }, NewEvent> = {
      initialState: () => 0,
      evolve: (n) => n + 1,
      decide: (command) => [{ type: 'ItemAdded', data: { product: { sku: command.sku }, count: 1 } }],
    };
    const result = await handleCommand(store, 'cart-cmd', { sku: 'a' }, decider);
    expect(result.events[0]!.schemaVersion).toBe(3);
    expect((await inner.loadStream('cart-cmd')).events[0]!.schemaVersion).toBe(3);
    const invalid = await caught(handleCommand(store, 'cart-cmd', { sku: 7 }, decider));
    expect(invalid).toMatchObject({ code: 'EVENT_SCHEMA_VIOLATION', path: 'product.sku' });
    expect((await inner.streamInfo('cart-cmd')).version).toBe(1);
  });

  it('the wrapped store is still the store: same class, same fields, unwrappable', async () => {
    const { store, inner } = await open();
    expect(Object.getPrototypeOf(store)).toBe(Object.getPrototypeOf(inner));
    expect(storeCapabilities(store)).toBe(storeCapabilities(inner));
    expect(storeServices(store)).toBe(storeServices(inner));
    expect(sqlAccess(store)).toBe(sqlAccess(inner));
    if (f.name !== 'memory') expect(sqlAccess(store)?.names.schema).toBeTruthy();
    expect(store.kind).toBe(inner.kind);
    expect(store.streamInfo).toBe(store.streamInfo);
    expect(unwrapEventStore(store)).toBe(inner);
    expect(unwrapEventStore(new EventRegistry().wrap(store))).toBe(inner);
    expect(eventRegistryOf(store)?.get('ItemAdded')).toBe(ItemAdded);
    expect(eventRegistryOf(inner)).toBeUndefined();
  });

  it('fails loudly on an event newer than the code knows, and when an upcaster throws', async () => {
    const { store, inner } = await open();
    await inner.append('cart-x', [{ type: 'ItemAdded', schemaVersion: 7, data: {} }]);
    const newer = await caught(collect(store.readStream('cart-x')));
    expect(newer.code).toBe('UPCAST_FAILED');
    expect(newer.message).toMatch(/ItemAdded v7.*knows versions 1 to 3/);

    const Fragile = defineEvent('Fragile', z.object({ n: z.number() })).withVersion(2, z.object({ n: z.number() }), () => {
      throw new Error('cannot convert');
    });
    await inner.append('frag-1', [{ type: 'Fragile', data: { n: 1 } }]);
    const error = await caught(new EventRegistry([Fragile]).wrap(inner).loadStream('frag-1'));
    expect(error).toMatchObject({ code: 'UPCAST_FAILED', details: { type: 'Fragile', schemaVersion: 1 } });
    expect(error.message).toContain('the upcaster to version 2 threw: cannot convert');
  });
});

describe('defineEvent', () => {
  it('numbers versions in order and refuses gaps', () => {
    expect(ItemAdded.version).toBe(3);
    expect(() => defineEvent('E', z.object({})).withVersion(3, z.object({}), (d) => d)).toThrow(/the version after 1 is 2, not 3/);
    expect(() => defineEvent('E', {} as StandardSchemaV1)).toThrow(/not a Standard Schema/);
    expect(ItemAdded.create({ product: { sku: 'a' }, count: 1 })).toEqual({ type: 'ItemAdded', schemaVersion: 3, data: { product: { sku: 'a' }, count: 1 } });
  });
});
