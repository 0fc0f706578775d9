import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';
import { unwrapEventStore } from '../../schema/registered-event-store.js';
import { MemorySnapshotStore } from './memory-snapshot-store.js';
import { SqlSnapshotStore, type SqlSnapshotTarget } from './sql-snapshot-store.js';
import type { SnapshotStore } from './snapshot-store.js';

const memoryStores = new WeakMap<object, MemorySnapshotStore>();

/**
 * The snapshot store that lives beside an event store: the `snapshots` table for PostgreSQL and
 * PGlite, a memory store (one per event store) for the memory store. A store wrapped by
 * `registry.wrap(store)` gets the snapshot store of the store under it.
 *
 * @example
 * const store = await openEventStore()
 * await handleCommand(store, 'cart-1', command, cart, { snapshots: snapshotStoreFor(store) })
 */
export function snapshotStoreFor(store: EventStore): SnapshotStore {
  const target: unknown = unwrapEventStore(store);
  if (isSql(target)) return new SqlSnapshotStore(target);
  if (typeof target === 'object' && target !== null && (target as EventStore).kind === 'memory') {
    let memory = memoryStores.get(target);
    if (!memory) memoryStores.set(target, (memory = new MemorySnapshotStore()));
    return memory;
  }
  throw new FactumError('INVALID_ARGUMENT', `No snapshot store known for a "${(store as EventStore).kind}" event store: pass one of your own`);
}

function isSql(target: unknown): target is SqlSnapshotTarget {
  const t = target as Partial<SqlSnapshotTarget> | null;
  return typeof t === 'object' && t !== null && typeof t.client?.query === 'function' && typeof t.names?.s === 'string';
}
