import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';
import { storeCapabilities } from '../../core/store-capabilities.js';
import { sqlAccess } from '../../store/sql-access.js';
import { ServiceKey, storeServices } from '../../store/store-services.js';
import { MemorySnapshotStore } from './memory-snapshot-store.js';
import { SqlSnapshotStore } from './sql-snapshot-store.js';
import type { SnapshotStore } from './snapshot-store.js';

const SNAPSHOTS = new ServiceKey<SnapshotStore>('domain.snapshots');

/**
 * The snapshot store that lives beside an event store: the `snapshots` table on a SQL store
 * (PostgreSQL, PGlite), one in memory for a store whose log lives in memory, one per event
 * store either way. A store wrapped by `registry.wrap(store)` shares the snapshot store of the
 * store under it.
 *
 * @example
 * const store = await openEventStore()
 * await handleCommand(store, 'cart-1', command, cart, { snapshots: snapshotStoreFor(store) })
 */
export function snapshotStoreFor(store: EventStore): SnapshotStore {
  const sql = sqlAccess(store);
  if (!sql && !storeCapabilities(store).ephemeral) {
    throw new FactumError('INVALID_ARGUMENT', `No snapshot store known for a "${store.kind}" event store: pass one of your own`);
  }
  return storeServices(store).get(SNAPSHOTS, () => (sql ? new SqlSnapshotStore(sql) : new MemorySnapshotStore()));
}
