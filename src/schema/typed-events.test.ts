// Event types carried by the type checker: projections over an event union or a registry narrow
// each handler's event by its key, and a registry-wrapped store appends and reads only its
// registered events. The `expectTypeOf` and `@ts-expect-error` lines are checked by
// `npm run typecheck`: a narrowing that broke fails it there.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { caught } from '../../test/caught.js';
import type { EventStore } from '../core/event-store.js';
import type { NewEvent, RecordedEvent, RecordedOf } from '../core/message.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import type { SqlEventStore } from '../index.js';
import { defineProjection, type Projection } from '../projections/projection.js';
import { readModel } from '../projections/read-model.js';
import { EventRegistry } from './event-registry.js';
import { defineEvent } from './event-type.js';
import { unwrapEventStore } from './registered-event-store.js';

type OrderPlaced = NewEvent<'OrderPlaced', { orderId: string; total: number }>;
type OrderCancelled = NewEvent<'OrderCancelled', { orderId: string; reason: string }>;
type OrderEvent = OrderPlaced | OrderCancelled;

const ItemAdded = defineEvent('ItemAdded', z.object({ sku: z.string(), quantity: z.number() }));
const CartCheckedOut = defineEvent('CartCheckedOut', z.object({ total: z.number() }));

describe('typed projections', () => {
  it('over an event union: each handler gets the event of its key, and only the union\'s types are keys', () => {
    const totals = defineProjection<OrderEvent>({
      name: 'typed-totals',
      handlers: {
        OrderPlaced: (event) => {
          expectTypeOf(event).toEqualTypeOf<RecordedEvent<'OrderPlaced', { orderId: string; total: number }>>();
          expectTypeOf(event.data.total).toBeNumber();
        },
        OrderCancelled: (event) => {
          expectTypeOf(event.data.reason).toBeString();
          // @ts-expect-error an OrderCancelled has no total
          void event.data.total;
        },
        // @ts-expect-error not an event of the union
        OrderShipped: () => {},
      },
    });
    expect(totals.eventTypes).toEqual(['OrderPlaced', 'OrderCancelled', 'OrderShipped']);
  });

  it('over a registry: handlers are typed by its event types, and a type it does not know is refused when defined', async () => {
    const registry = new EventRegistry([ItemAdded, CartCheckedOut]);
    defineProjection({
      name: 'typed-carts',
      events: registry,
      handlers: {
        ItemAdded: (event) => {
          expectTypeOf(event.data).toEqualTypeOf<{ sku: string; quantity: number }>();
        },
        CartCheckedOut: (event) => {
          expectTypeOf(event.data.total).toBeNumber();
        },
      },
    });
    const define = () =>
      defineProjection({
        name: 'typed-carts-2',
        events: registry,
        // @ts-expect-error not registered
        handlers: { ItemRemoved: () => {} },
      });
    expect(await caught(Promise.resolve().then(define))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('ItemRemoved') });
  });

  it('table names are the declared ones, in handlers and in readModel, when inferred', () => {
    const carts = defineProjection({
      name: 'typed-tables',
      tables: { orders: (t) => `CREATE TABLE ${t} (id text)` },
      handlers: {
        OrderPlaced: (_event, { table }) => {
          expectTypeOf(table).parameter(0).toEqualTypeOf<'orders'>();
        },
      },
    });
    const typesOnly = (store: EventStore) => {
      const model = readModel(store, carts);
      expectTypeOf(model.table).parameter(0).toEqualTypeOf<'orders'>();
      // @ts-expect-error not one of its tables
      model.table('order');
    };
    // A typed projection still fits where any projection is expected (lists, runners, rebuilds).
    const all: Projection[] = [carts, defineProjection<OrderEvent>({ name: 'typed-tables-2', handlers: { OrderPlaced: () => {} } })];
    expect([all.length, typeof typesOnly]).toEqual([2, 'function']);
  });
});

describe('a registry-wrapped store', () => {
  it('appends only registered types with their data and reads them narrowed by type', async () => {
    const store = new EventRegistry([ItemAdded, CartCheckedOut], { strict: true }).wrap(new MemoryEventStore());
    await store.append('cart-1', [ItemAdded.create({ sku: 'a', quantity: 2 }), { type: 'CartCheckedOut', data: { total: 4 } }]);
    // @ts-expect-error the data of ItemAdded has a quantity
    await caught(store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'b' } }]));
    // @ts-expect-error not a registered type
    await caught(store.append('cart-1', [{ type: 'ItemRemoved', data: {} }]));
    const seen: number[] = [];
    for await (const event of store.readStream('cart-1')) {
      expectTypeOf(event).toEqualTypeOf<RecordedOf<{ type: 'ItemAdded'; data: { sku: string; quantity: number } } | { type: 'CartCheckedOut'; data: { total: number } }>>();
      seen.push(event.type === 'ItemAdded' ? event.data.quantity : event.data.total);
    }
    expect(seen).toEqual([2, 4]);
    await store.transaction(async (tx) => {
      // @ts-expect-error inside transactions too
      await caught(tx.append('cart-2', [{ type: 'CartCheckedOut', data: { total: 'four' } }]));
    }).catch(() => {});
    // It still fits where any store is expected, and unwrapping gives the untyped store back.
    const port: EventStore = store;
    expectTypeOf(unwrapEventStore(store)).toEqualTypeOf<MemoryEventStore>();
    expect(port.kind).toBe('memory');
  });

  it('keeps the store\'s own type when the registry knows no types, and its members under a typed one', () => {
    const typesOnly = (sql: SqlEventStore) => {
      expectTypeOf(new EventRegistry().wrap(sql)).toEqualTypeOf<SqlEventStore>();
      expectTypeOf(new EventRegistry([ItemAdded]).wrap(sql)).toHaveProperty('client');
      expectTypeOf(unwrapEventStore(new EventRegistry([ItemAdded]).wrap(sql))).toEqualTypeOf<SqlEventStore>();
      expectTypeOf(unwrapEventStore(sql)).toEqualTypeOf<SqlEventStore>();
    };
    expect(typeof typesOnly).toBe('function');
  });
});
