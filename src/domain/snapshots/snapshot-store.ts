import type { JsonValue } from '../../core/message.js';

/** A stream's folded state at one version, as JSON. */
export interface Snapshot {
  streamId: string;
  /** Which state (a stream can be folded by several deciders). */
  name: string;
  /** The version of the state's shape (`SnapshotOptions.version`). */
  snapshotVersion: number;
  /** The last stream version folded into `state`. */
  streamVersion: number;
  /** The first stream version folded into `state` (moves when a stream is soft-deleted). */
  fromVersion: number;
  state: JsonValue;
}

/**
 * Where snapshots live, beside the log. A port of its own so that the `EventStore` port does
 * not change: `MemorySnapshotStore` for tests and the memory store, `SqlSnapshotStore` for
 * PostgreSQL and PGlite. `snapshotStoreFor(store)` picks the one that fits a store.
 *
 * @example
 * const snapshots = snapshotStoreFor(store)
 * await handleCommand(store, 'cart-1', command, cart, { snapshots })
 */
export interface SnapshotStore {
  /** The snapshot of this shape version, if any. */
  load(streamId: string, name: string, snapshotVersion: number): Promise<Snapshot | undefined>;
  /** Keeps the snapshot unless one at a later stream version is already there. */
  save(snapshot: Snapshot): Promise<void>;
  /** Removes a stream's snapshots (all names and versions, or one name). */
  delete(streamId: string, name?: string): Promise<void>;
}
