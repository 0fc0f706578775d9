import type { AllPage, AppendOptions, EventStore, EventStoreTransaction, ReadAllOptions, ReadAllPageOptions, ReadStreamOptions, StreamInfo } from '../core/event-store.js';
import { FactumError } from '../core/errors.js';
import type { AppendResult, EventShape, NewEvent, RecordedEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { ENLIST_TRANSACTION, RUN_TRANSACTION, type PrepareEvents, type TransactionCapable, type TransactionScope } from '../store/transaction-scope.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import { STORE_SERVICES, storeServices } from '../store/store-services.js';
import { SESSION_READS, sessionReads, type StreamReads } from '../store/session-reads.js';
import type { EventRegistry } from './event-registry.js';

const REGISTRY = Symbol.for('factum.eventRegistry');

/**
 * A store wrapped by a registry of the events `E`: the store's own members, with appends and
 * reads typed by `E`. A registry of no known types (`new EventRegistry()`) leaves the store's type as it is.
 *
 * @example
 * const store: RegisteredEventStore<SqlEventStore, InferEvent<typeof ItemAdded>> = new EventRegistry([ItemAdded]).wrap(sqlStore)
 */
export type RegisteredEventStore<S extends EventStore, E extends EventShape> = [E] extends [never]
  ? S
  : string extends E['type']
    ? S
    : Omit<S, keyof EventStore> & EventStore<E> & { /** Never set: the store under the registry, for `unwrapEventStore`'s type. */ readonly '~store'?: S };

/**
 * The type of the store under a registry wrapper (the store's own type when not wrapped).
 *
 * @example
 * const raw: UnwrappedEventStore<typeof store> = unwrapEventStore(store)
 */
export type UnwrappedEventStore<S> = S extends { readonly '~store'?: infer Inner extends EventStore } ? Inner : S;
const INNER = Symbol.for('factum.innerEventStore');

/**
 * Puts an `EventRegistry` in front of a store: appends are validated against the registered
 * schemas, and every read (streams, `$all`, pages) is upcast to current versions. Everything
 * else (its capabilities, its side object, `sqlAccess`, `migrate`, hooks) is the store's own, so
 * the layers above (subscriptions, projections, rebuilds, snapshots) treat the wrapper as the
 * store, with no unwrapping, and read upcast events through the same port. Use `registry.wrap(store)`.
 *
 * It is a decorator implemented as a `Proxy`, so the store's own methods and properties reach
 * callers unchanged; a store of your own that declares nothing gets its side object passed
 * through all the same.
 *
 * @example
 * const store = new EventRegistry([ItemAdded]).wrap(await openEventStore())
 * storeCapabilities(store).sql      // true, as for the store itself
 * unwrapEventStore(store)           // the store itself: events exactly as they were written
 */
export function registeredEventStore<S extends EventStore>(store: S, registry: EventRegistry): S {
  // Appends inside transactions are validated too: the store runs this step before its own
  // rules (after the steps of any registry wrapped around this one).
  const capable = store as unknown as Partial<TransactionCapable>;
  const validating = (outer?: PrepareEvents): PrepareEvents => async (events) => registry.validate(outer ? await outer(events) : events);
  const inner = <K extends keyof TransactionCapable>(key: K): TransactionCapable[K] => {
    const method = capable[key];
    if (typeof method !== 'function') throw new FactumError('INVALID_ARGUMENT', `The ${store.kind} store under this registry has no transactions`);
    return method.bind(store) as TransactionCapable[K];
  };
  const overrides: Record<PropertyKey, unknown> = {
    [REGISTRY]: registry,
    [INNER]: store,
    capabilities: storeCapabilities(store),
    [STORE_SERVICES]: storeServices(store),
    async append(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult> {
      return store.append(streamId, await registry.validate(events), options);
    },
    ...upcastReads(store, registry),
    async readAllPage(options?: ReadAllPageOptions): Promise<AllPage> {
      const page = await store.readAllPage(options);
      return { ...page, events: page.events.map((e) => registry.upcast(e)) };
    },
    async *readAll(options?: ReadAllOptions): AsyncGenerator<RecordedEvent> {
      for await (const event of store.readAll(options)) yield registry.upcast(event);
    },
    async transaction<T>(fn: (tx: EventStoreTransaction) => Promise<T>): Promise<T> {
      return inner(RUN_TRANSACTION)(fn, validating());
    },
    async [RUN_TRANSACTION]<T>(fn: (tx: EventStoreTransaction) => Promise<T>, prepare?: PrepareEvents): Promise<T> {
      return inner(RUN_TRANSACTION)(fn, validating(prepare));
    },
    async [ENLIST_TRANSACTION](sql: SqlQueryable | undefined, prepare?: PrepareEvents): Promise<TransactionScope> {
      return inner(ENLIST_TRANSACTION)(sql, validating(prepare));
    },
    [SESSION_READS](on: SqlQueryable): StreamReads | undefined {
      const reads = sessionReads(store, on);
      return reads && upcastReads(reads, registry);
    },
  };
  // Methods are bound to the store (its private state lives there), once, so they keep their identity.
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop];
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || prop === 'constructor') return value;
      let fn = bound.get(prop);
      if (fn === undefined || (fn as { original?: unknown }).original !== value) {
        fn = Object.assign((value as (...args: unknown[]) => unknown).bind(target), { original: value });
        bound.set(prop, fn);
      }
      return fn;
    },
    has(target, prop) {
      return Object.prototype.hasOwnProperty.call(overrides, prop) || Reflect.has(target, prop);
    },
  });
}

/** Stream reads that upcast what `reads` returns. */
function upcastReads(reads: StreamReads, registry: EventRegistry): StreamReads {
  return {
    async *readStream(streamId: string, options?: ReadStreamOptions): AsyncGenerator<RecordedEvent> {
      for await (const event of reads.readStream(streamId, options)) yield registry.upcast(event);
    },
    async loadStream(streamId: string, options?: ReadStreamOptions): Promise<{ events: RecordedEvent[]; info: StreamInfo }> {
      const { events, info } = await reads.loadStream(streamId, options);
      return { events: events.map((e) => registry.upcast(e)), info };
    },
    streamInfo: (streamId: string) => reads.streamInfo(streamId),
  };
}

/**
 * The store under a registry (`registry.wrap(store)`), or the store itself when it is not
 * wrapped: to read or write events exactly as stored, without validation or upcasting.
 *
 * @example
 * const raw = unwrapEventStore(store)
 * await raw.append('cart-1', [{ type: 'ItemAdded', schemaVersion: 1, data: { sku: 'a' } }])
 */
export function unwrapEventStore<S extends EventStore>(store: S): UnwrappedEventStore<S> {
  let current: EventStore = store;
  for (;;) {
    const inner = (current as unknown as Record<symbol, EventStore | undefined>)[INNER];
    if (inner === undefined) return current as UnwrappedEventStore<S>;
    current = inner;
  }
}

/**
 * The registry a store is wrapped with, if any.
 *
 * @example
 * eventRegistryOf(store)?.get('ItemAdded')?.version
 */
export function eventRegistryOf(store: EventStore): EventRegistry | undefined {
  return (store as unknown as Record<symbol, EventRegistry | undefined>)[REGISTRY];
}

/**
 * Gives `view` (an object standing in for `store`, e.g. a handler's view of it) the registry of
 * `store`, so that `eventRegistryOf(view)` answers as for the store.
 *
 * @example
 * const view = carryEventRegistry(store, { ...methods })
 */
export function carryEventRegistry<V extends object>(store: EventStore, view: V): V {
  const registry = eventRegistryOf(store);
  if (registry) Object.defineProperty(view, REGISTRY, { value: registry });
  return view;
}
