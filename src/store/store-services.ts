import type { EventStore } from '../core/event-store.js';

/**
 * Names one thing the layers above keep per store (its consumer storage, append signal,
 * snapshot store, inline projections). The type parameter is what `StoreServices.get` returns.
 *
 * @example
 * const SNAPSHOTS = new ServiceKey<SnapshotStore>('snapshots')
 */
export class ServiceKey<T> {
  declare private readonly type: T;
  constructor(readonly name: string) {}
}

/** Where an object keeps its `StoreServices`: read through `registry.wrap(store)` like any property. */
export const STORE_SERVICES = Symbol.for('factum.storeServices');

/**
 * The side object of one store: what each layer above keeps per store, made on first use and
 * shared by everyone who asks for the same key. One per store, so a store and every registry
 * wrapped around it share one consumer storage, one append signal, one snapshot store.
 *
 * @example
 * const SIGNAL = new ServiceKey<AppendSignal>('consumers.appendSignal')
 * const signal = storeServices(store).get(SIGNAL, () => new AppendSignal(store))
 */
export class StoreServices {
  private readonly made = new Map<ServiceKey<unknown>, unknown>();

  /** The store's `key`, made by `create` the first time it is asked for. */
  get<T>(key: ServiceKey<T>, create: () => T): T {
    if (this.made.has(key)) return this.made.get(key) as T;
    const value = create();
    this.made.set(key, value);
    return value;
  }

  /** The store's `key` if it was made, without making it. */
  peek<T>(key: ServiceKey<T>): T | undefined {
    return this.made.get(key) as T | undefined;
  }
}

/** Side objects of stores that do not carry one (implementations of the port outside factum). */
const carriedNowhere = new WeakMap<object, StoreServices>();

/**
 * The side object of `store`: factum's stores carry their own, and a registry wrapper hands out
 * the one of the store under it, so nothing needs unwrapping.
 *
 * @example
 * const snapshots = storeServices(store).get(SNAPSHOTS, () => new MemorySnapshotStore())
 */
export function storeServices(store: EventStore): StoreServices {
  const carried = (store as unknown as Partial<Record<typeof STORE_SERVICES, StoreServices>>)[STORE_SERVICES];
  if (carried) return carried;
  let services = carriedNowhere.get(store);
  if (!services) carriedNowhere.set(store, (services = new StoreServices()));
  return services;
}
