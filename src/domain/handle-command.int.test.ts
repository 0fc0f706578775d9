// The write model on every store: command handling with retries, metadata flow, error kinds,
// and snapshots (use, invalidation, soft delete), for deciders and aggregates alike.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';
import { isConcurrencyError, isInfrastructureError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { NewEvent } from '../core/message.js';
import { EventRegistry } from '../schema/event-registry.js';
import { Aggregate, aggregateDecider } from './aggregate.js';
import type { Command, Decider } from './decider.js';
import { DomainError, isDomainError } from './domain-error.js';
import { handleCommand } from './handle-command.js';
import { loadState, takeSnapshot } from './load-state.js';
import { snapshotStoreFor } from './snapshots/snapshot-store-for.js';
import { SqlSnapshotStore } from './snapshots/sql-snapshot-store.js';
import { caught } from '../../test/caught.js';

type CartEvent = NewEvent<'ItemAdded', { sku: string }> | NewEvent<'CartCheckedOut', { items: number }>;
type CartCommand = Command<'AddItems', { skus: string[] }> | Command<'CheckOut', null>;
interface CartState {
  items: string[];
  checkedOut: boolean;
}

const add = (...skus: string[]): CartCommand => ({ type: 'AddItems', data: { skus } });

function cartDecider(snapshot?: Decider<CartState, CartCommand, CartEvent>['snapshot']): Decider<CartState, CartCommand, CartEvent> {
  return {
    name: 'cart',
    initialState: () => ({ items: [], checkedOut: false }),
    evolve: (state, event) =>
      event.type === 'ItemAdded' ? { ...state, items: [...state.items, event.data.sku] } : { ...state, checkedOut: true },
    decide: (command, state) => {
      if (state.checkedOut) throw new DomainError('CartCheckedOut', 'The cart is checked out');
      if (command.type === 'CheckOut') return { type: 'CartCheckedOut', data: { items: state.items.length } };
      // Adding what is already there is a no-op: no events.
      return command.data.skus.filter((sku) => !state.items.includes(sku)).map((sku) => ({ type: 'ItemAdded' as const, data: { sku } }));
    },
    ...(snapshot ? { snapshot } : {}),
  };
}

class CartAggregate extends Aggregate<CartState, CartEvent> {
  static snapshot = { name: 'cart-aggregate', every: 5, version: 1 };
  initialState(): CartState {
    return { items: [], checkedOut: false };
  }
  apply(state: CartState, event: CartEvent): CartState {
    return event.type === 'ItemAdded' ? { ...state, items: [...state.items, event.data.sku] } : { ...state, checkedOut: true };
  }
  addItem(sku: string): void {
    if (this.state.checkedOut) throw new DomainError('CartCheckedOut');
    if (!this.state.items.includes(sku)) this.record({ type: 'ItemAdded', data: { sku } });
  }
  checkOut(): void {
    if (this.state.checkedOut) throw new DomainError('CartCheckedOut');
    this.record({ type: 'CartCheckedOut', data: { items: this.state.items.length } });
  }
}
const cartAggregate = aggregateDecider(CartAggregate, (cart, command: CartCommand) => {
  if (command.type === 'CheckOut') cart.checkOut();
  else for (const sku of command.data.skus) cart.addItem(sku);
});


const factories = await storeFactories();
afterAll(() => dropSchemas(createdSchemas));

for (const f of factories) {
  describe.skipIf(!!f.skip)(`handleCommand: ${f.name}${f.skip ? ` (skipped: ${f.skip})` : ''}`, () => {
    const opened: EventStore[] = [];
    const open = async (): Promise<EventStore> => {
      const store = await f.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it('20 concurrent commands on one stream lose no update: 20 items', async () => {
      const store = await open();
      const cart = cartDecider();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => handleCommand(store, 'cart-race', add(`sku-${i}`), cart, { retries: 50, backoff: { initialMs: 2, maxMs: 40 } })),
      );
      const { state, version } = await loadState(store, 'cart-race', cart);
      expect(version).toBe(20);
      expect([...state.items].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `sku-${i}`).sort());
      // Each command appended exactly its one event, and conflicts really happened.
      expect(results.map((r) => r.events.length)).toEqual(Array(20).fill(1));
      expect(new Set(results.map((r) => r.version)).size).toBe(20);
      expect(results.reduce((sum, r) => sum + r.attempts, 0)).toBeGreaterThan(20);
    });

    it('the aggregate style takes the same concurrent load', async () => {
      const store = await open();
      await Promise.all(Array.from({ length: 20 }, (_, i) => handleCommand(store, 'cart-agg', add(`s${i}`), cartAggregate, { retries: 50, backoff: { initialMs: 2, maxMs: 40 } })));
      const { state } = await loadState(store, 'cart-agg', cartAggregate);
      expect(state.items).toHaveLength(20);
    });

    it('gives up after the configured retries with the last ConcurrencyError, waiting as the backoff says', async () => {
      const store = await open();
      let decisions = 0;
      let rival = 0;
      const waits: number[] = [];
      // A real rival writer: before each of our appends, another append lands on the stream.
      const contested = new Proxy(store, {
        get(target, prop) {
          if (prop === 'append') {
            return async (...args: Parameters<EventStore['append']>) => {
              await target.append('cart-contested', [{ type: 'ItemAdded', data: { sku: `rival-${rival++}` } }]);
              return target.append(...args);
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const counting: Decider<CartState, CartCommand, CartEvent> = { ...cartDecider(), decide: (c, s) => (decisions++, cartDecider().decide(c, s)) };
      const error = await caught(handleCommand(contested, 'cart-contested', add('mine'), counting, { retries: 3, backoff: (attempt) => (waits.push(attempt), 1) }));
      expect(isConcurrencyError(error)).toBe(true);
      expect(decisions).toBe(4);
      expect(waits).toEqual([1, 2, 3]);
      const { state } = await loadState(store, 'cart-contested', cartDecider());
      expect(state.items).not.toContain('mine');
      expect(state.items).toHaveLength(4);
    });

    it('a command that decides no events writes nothing', async () => {
      const store = await open();
      const cart = cartDecider();
      await handleCommand(store, 'cart-noop', add('a'), cart);
      const head = await store.headPosition();
      const result = await handleCommand(store, 'cart-noop', add('a'), cart);
      expect(result.events).toEqual([]);
      expect(result.version).toBe(1);
      expect(await store.headPosition()).toBe(head);
      expect((await store.streamInfo('cart-noop')).version).toBe(1);
    });

    it('correlation and causation ids flow from the command into every event', async () => {
      const store = await open();
      const cart = cartDecider();
      const command: CartCommand = { type: 'AddItems', data: { skus: ['a', 'b'] }, metadata: { commandId: 'cmd-1', correlationId: 'flow-1', userId: 'u-1' } };
      const result = await handleCommand(store, 'cart-meta', command, cart, { metadata: { tenant: 't-1' } });
      const { events } = await store.loadStream('cart-meta');
      expect(events).toHaveLength(2);
      for (const event of events) expect(event.metadata).toEqual({ correlationId: 'flow-1', causationId: 'cmd-1', userId: 'u-1', tenant: 't-1' });
      expect(result.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(result.events.map((e) => e.globalPosition)).toEqual(events.map((e) => e.globalPosition));
      // Without a command id, the command's own causation id is the best cause there is.
      await handleCommand(store, 'cart-meta', { type: 'CheckOut', data: null, metadata: { causationId: 'evt-9' } }, cart);
      const last = (await store.loadStream('cart-meta', { fromVersion: 3 })).events[0]!;
      expect(last.metadata).toEqual({ causationId: 'evt-9' });
    });

    it('a broken business rule is a typed domain error, distinct from conflicts and infrastructure failures; nothing is written', async () => {
      const store = await open();
      const cart = cartDecider();
      await handleCommand(store, 'cart-rule', add('a'), cart);
      await handleCommand(store, 'cart-rule', { type: 'CheckOut', data: null }, cart);
      const domain = await caught(handleCommand(store, 'cart-rule', add('b'), cart));
      expect(isDomainError(domain)).toBe(true);
      expect(isDomainError(domain, 'CartCheckedOut')).toBe(true);
      expect(isDomainError(domain, 'CartFull')).toBe(false);
      expect(isConcurrencyError(domain)).toBe(false);
      expect(isInfrastructureError(domain)).toBe(false);
      expect((await store.streamInfo('cart-rule')).version).toBe(2);

      await store.close();
      const infra = await caught(handleCommand(store, 'cart-rule', add('c'), cart));
      expect(isInfrastructureError(infra)).toBe(true);
      expect(isDomainError(infra)).toBe(false);
      expect(isConcurrencyError(infra)).toBe(false);
    });

    describe('snapshots', () => {
      it('are written every N events after the append, and loading starts from the latest one', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        if (f.name !== 'memory') expect(snapshots).toBeInstanceOf(SqlSnapshotStore);
        const cart = cartDecider({ name: 'cart', every: 5, version: 1 });
        const written: number[] = [];
        for (let i = 1; i <= 12; i++) {
          const result = await handleCommand(store, 'cart-snap', add(`s${i}`), cart, { snapshots });
          if (result.snapshot) {
            expect(await result.snapshot).toBe(true);
            written.push(result.version);
          }
        }
        expect(written).toEqual([5, 10]);
        const saved = await snapshots.load('cart-snap', 'cart', 1);
        expect(saved).toMatchObject({ streamVersion: 10, snapshotVersion: 1, fromVersion: 1 });
        const loaded = await loadState(store, 'cart-snap', cart, { snapshots });
        expect(loaded).toMatchObject({ version: 12, fromSnapshot: 10, eventsFolded: 2 });
        const full = await loadState(store, 'cart-snap', cart);
        expect(full.eventsFolded).toBe(12);
        expect(loaded.state).toEqual(full.state);
      });

      it('two deciders with snapshots on one stream each load only their own', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        const cart = cartDecider({ name: 'cart', every: 5, version: 1 });
        // Another read of the same stream, same shape version: only the name tells the two apart.
        const counter: Decider<{ count: number }, CartCommand, CartEvent> = {
          initialState: () => ({ count: 0 }),
          evolve: (state, event) => (event.type === 'ItemAdded' ? { count: state.count + 1 } : state),
          decide: () => [],
          snapshot: { name: 'item-count', every: 5, version: 1 },
        };
        for (let i = 1; i <= 7; i++) await (await handleCommand(store, 'cart-two', add(`s${i}`), cart, { snapshots })).snapshot;
        const before = await loadState(store, 'cart-two', counter, { snapshots });
        expect(before).toMatchObject({ state: { count: 7 }, eventsFolded: 7 });
        expect(before.fromSnapshot).toBeUndefined();

        expect(await takeSnapshot(store, 'cart-two', counter, snapshots)).toBe(7);
        for (let i = 8; i <= 10; i++) await (await handleCommand(store, 'cart-two', add(`s${i}`), cart, { snapshots })).snapshot;
        expect(await loadState(store, 'cart-two', counter, { snapshots })).toMatchObject({ state: { count: 10 }, fromSnapshot: 7, eventsFolded: 3 });
        const loaded = await loadState(store, 'cart-two', cart, { snapshots });
        expect(loaded).toMatchObject({ fromSnapshot: 10, eventsFolded: 0 });
        expect(loaded.state.items).toEqual(Array.from({ length: 10 }, (_, i) => `s${i + 1}`));
        expect(await snapshots.load('cart-two', 'item-count', 1)).toMatchObject({ streamVersion: 7, state: { count: 7 } });
        expect(await snapshots.load('cart-two', 'cart', 1)).toMatchObject({ streamVersion: 10 });
      });

      it('need a decider name: none (a JavaScript caller) and the old shared key "state" are refused before anything is written', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        // @ts-expect-error the name is required once snapshots are on
        const unnamed = cartDecider({ every: 5, version: 1 });
        for (const decider of [unnamed, cartDecider({ name: '', every: 5, version: 1 }), cartDecider({ name: 'state', every: 5, version: 1 })]) {
          const error = await caught(handleCommand(store, 'cart-unnamed', add('a'), decider, { snapshots }));
          expect(error).toMatchObject({ name: 'FactumError', code: 'INVALID_ARGUMENT' });
          expect((error as Error).message).toMatch(/snapshot\.name must name the decider/);
          await expect(loadState(store, 'cart-unnamed', decider, { snapshots })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
          await expect(takeSnapshot(store, 'cart-unnamed', decider, snapshots)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        }
        expect((await store.streamInfo('cart-unnamed')).exists).toBe(false);
        // A snapshot stored under the old shared key, by whichever decider: no decider loads it.
        await store.append('cart-legacy', [1, 2, 3].map((i) => ({ type: 'ItemAdded', data: { sku: `s${i}` } })));
        await snapshots.save({ streamId: 'cart-legacy', name: 'state', snapshotVersion: 1, streamVersion: 3, fromVersion: 1, state: { count: 3 } });
        const loaded = await loadState(store, 'cart-legacy', cartDecider({ name: 'cart', every: 5, version: 1 }), { snapshots });
        expect(loaded).toMatchObject({ state: { items: ['s1', 's2', 's3'] }, eventsFolded: 3 });
        expect(loaded.fromSnapshot).toBeUndefined();
      });

      it('the loaded state really comes from the snapshot (plus the tail)', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        const cart = cartDecider({ name: 'cart', every: 100, version: 1 });
        await store.append('cart-marked', [1, 2, 3, 4].map((i) => ({ type: 'ItemAdded', data: { sku: `s${i}` } })));
        // A snapshot that differs from the events on purpose: only a load that uses it sees "marker".
        await snapshots.save({ streamId: 'cart-marked', name: 'cart', snapshotVersion: 1, streamVersion: 3, fromVersion: 1, state: { items: ['marker'], checkedOut: false } });
        const loaded = await loadState(store, 'cart-marked', cart, { snapshots });
        expect(loaded.state.items).toEqual(['marker', 's4']);
        expect(loaded).toMatchObject({ fromSnapshot: 3, eventsFolded: 1, version: 4 });
      });

      it('a new snapshot version ignores old snapshots, even of another state shape', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        for (let i = 1; i <= 6; i++) await (await handleCommand(store, 'cart-shape', add(`s${i}`), cartDecider({ name: 'cart', every: 5, version: 1 }), { snapshots })).snapshot;
        // The state is now a count: the old snapshot (a list) must not be loaded as one.
        const counter: Decider<{ count: number }, CartCommand, CartEvent> = {
          initialState: () => ({ count: 0 }),
          evolve: (state, event) => (event.type === 'ItemAdded' ? { count: state.count + 1 } : state),
          decide: () => [],
          snapshot: { name: 'cart', every: 5, version: 2 },
        };
        const loaded = await loadState(store, 'cart-shape', counter, { snapshots });
        expect(loaded.state).toEqual({ count: 6 });
        expect(loaded.fromSnapshot).toBeUndefined();
        expect(loaded.eventsFolded).toBe(6);
        // Once a version-2 snapshot exists it is used, and the version-1 one still serves version-1 code.
        expect(await takeSnapshot(store, 'cart-shape', counter, snapshots)).toBe(6);
        expect(await loadState(store, 'cart-shape', counter, { snapshots })).toMatchObject({ state: { count: 6 }, fromSnapshot: 6, eventsFolded: 0 });
        expect((await loadState(store, 'cart-shape', cartDecider({ name: 'cart', every: 5, version: 1 }), { snapshots })).fromSnapshot).toBe(5);
      });

      it('a snapshot taken before a soft delete is not used after it', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        const cart = cartDecider({ name: 'cart', every: 5, version: 1 });
        for (let i = 1; i <= 5; i++) await (await handleCommand(store, 'cart-del', add(`old${i}`), cart, { snapshots })).snapshot;
        await store.deleteStream('cart-del');
        const result = await handleCommand(store, 'cart-del', add('new'), cart, { snapshots });
        expect(result.state.items).toEqual(['new']);
        expect(result.version).toBe(6);
        const loaded = await loadState(store, 'cart-del', cart, { snapshots });
        expect(loaded.state.items).toEqual(['new']);
        expect(loaded.fromSnapshot).toBeUndefined();
      });

      it('work for aggregates (options from a static field) and behind an event registry', async () => {
        const inner = await open();
        const store = new EventRegistry().wrap(inner);
        const snapshots = snapshotStoreFor(store);
        for (let i = 1; i <= 7; i++) await (await handleCommand(store, 'cart-a', add(`s${i}`), cartAggregate, { snapshots })).snapshot;
        const loaded = await loadState(store, 'cart-a', cartAggregate, { snapshots });
        expect(loaded).toMatchObject({ fromSnapshot: 5, eventsFolded: 2, version: 7 });
        expect(loaded.state.items).toEqual(['s1', 's2', 's3', 's4', 's5', 's6', 's7']);
        expect(await snapshots.load('cart-a', 'cart-aggregate', 1)).toMatchObject({ streamVersion: 5 });
      });

      it('a failed snapshot write does not fail the command, and is reported', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        // A state that cannot become JSON: the write fails after the append has succeeded.
        const broken = cartDecider({ name: 'cart', every: 1, version: 1, toSnapshot: () => ({ big: 1n }) as never });
        const errors: unknown[] = [];
        const result = await handleCommand(store, 'cart-broken', add('a'), broken, { snapshots, onSnapshotError: (e) => errors.push(e) });
        expect(result.version).toBe(1);
        expect(await result.snapshot).toBe(false);
        expect(errors).toHaveLength(1);
        expect((await store.streamInfo('cart-broken')).version).toBe(1);
        expect(await snapshots.load('cart-broken', 'cart', 1)).toBeUndefined();
        await expect(handleCommand(store, 'cart-broken', add('b'), cartDecider({ name: 'cart', every: 0, version: 1 }), { snapshots })).rejects.toThrow(/snapshot.every must be an integer >= 1/);
      });

      it('the snapshot store never moves a snapshot back to an older stream version', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        const row = { streamId: 'cart-order', name: 'cart', snapshotVersion: 1, fromVersion: 1 };
        await snapshots.save({ ...row, streamVersion: 10, state: { at: 10 } });
        await snapshots.save({ ...row, streamVersion: 5, state: { at: 5 } });
        expect(await snapshots.load('cart-order', 'cart', 1)).toMatchObject({ streamVersion: 10, state: { at: 10 } });
        await snapshots.save({ ...row, streamVersion: 12, state: { at: 12 } });
        expect(await snapshots.load('cart-order', 'cart', 1)).toMatchObject({ streamVersion: 12, state: { at: 12 } });
        expect(await snapshots.load('cart-order', 'cart', 2)).toBeUndefined();
        await snapshots.delete('cart-order');
        expect(await snapshots.load('cart-order', 'cart', 1)).toBeUndefined();
      });

      it('takeSnapshot covers streams written in bulk, outside handleCommand', async () => {
        const store = await open();
        const snapshots = snapshotStoreFor(store);
        const cart = cartDecider({ name: 'cart', every: 1000, version: 1 });
        await store.append('cart-bulk', Array.from({ length: 30 }, (_, i) => ({ type: 'ItemAdded', data: { sku: `b${i}` } })));
        expect(await takeSnapshot(store, 'cart-bulk', cart, snapshots)).toBe(30);
        const loaded = await loadState(store, 'cart-bulk', cart, { snapshots });
        expect(loaded).toMatchObject({ fromSnapshot: 30, eventsFolded: 0, version: 30 });
        expect(loaded.state.items).toHaveLength(30);
        expect(await takeSnapshot(store, 'cart-never-written', cart, snapshots)).toBeUndefined();
      });
    });
  });
}
