import { FactumError } from '../core/errors.js';
import type { EventStore, StreamInfo } from '../core/event-store.js';
import type { JsonValue, NewEvent, RecordedEvent } from '../core/message.js';
import type { Decider, EvolveEvent, SnapshotOptions } from './decider.js';
import type { Snapshot, SnapshotStore } from './snapshots/snapshot-store.js';

/** Options of `loadState`. */
export interface LoadStateOptions {
  /** Where the decider's snapshots live; without it, the whole stream is folded. */
  snapshots?: SnapshotStore;
  /** Events per round trip while folding; the store's default (1,000) when absent. */
  pageSize?: number;
}

/** A stream folded into a decider's state. */
export interface LoadedState<State> {
  state: State;
  /** The stream's version: pass it as the expected version of the next append. */
  version: number;
  /** The stream exists (has events and is not deleted). */
  exists: boolean;
  info: StreamInfo;
  /** Events folded by this load (after the snapshot, if one was used). */
  eventsFolded: number;
  /** The stream version of the snapshot the load started from, if any. */
  fromSnapshot?: number;
}

/**
 * The key every snapshot was saved under before deciders had to name theirs. Such a row may hold
 * the state of any decider that folded its stream, and nothing in it says which, so it is never
 * loaded: the name is refused, and the old rows are simply ignored (a decider folds the whole
 * stream once and writes its own snapshot at the next multiple of `every`).
 */
const LEGACY_SNAPSHOT_NAME = 'state';

/** The first stream version a fold starts from: where the stream's visible history begins. */
export function foldStart(info: StreamInfo): number {
  return Math.max(1, info.metadata.truncateBefore ?? 1);
}

/**
 * Whether snapshots can stand in for this stream's history. Streams whose visible events depend
 * on the current head or clock (max count, max age) fold differently over time, and a
 * tombstoned stream has no history: none of them use snapshots.
 */
export function snapshotsApply(info: StreamInfo): boolean {
  return !info.tombstoned && info.metadata.maxCount === undefined && info.metadata.maxAgeSeconds === undefined;
}

/**
 * Refuses snapshot options that would silently never (or always) snapshot, or share a key with
 * another decider's (the type requires a name; JavaScript callers get this check).
 */
function checkSnapshotOptions(options: Pick<SnapshotOptions<unknown>, 'name' | 'every' | 'version'>): void {
  const { name } = options as { name?: unknown };
  if (typeof name !== 'string' || name.trim() === '' || name === LEGACY_SNAPSHOT_NAME) {
    const why = name === LEGACY_SNAPSHOT_NAME ? `"${LEGACY_SNAPSHOT_NAME}" is reserved (older snapshots of any decider were saved under it)` : `got ${JSON.stringify(name) ?? String(name)}`;
    throw new FactumError('INVALID_ARGUMENT', `snapshot.name must name the decider (the snapshot key is stream, name and version): ${why}`, { details: { name: String(name) } });
  }
  for (const key of ['every', 'version'] as const) {
    const value = options[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new FactumError('INVALID_ARGUMENT', `snapshot.${key} must be an integer >= 1, got ${String(value)}`, { details: { [key]: String(value) } });
    }
  }
}

/** Restores a state from a snapshot, if the snapshot still describes this stream. */
function usable<State>(snapshot: Snapshot | undefined, info: StreamInfo, options: SnapshotOptions<State>): State | undefined {
  if (!snapshot || !snapshotsApply(info)) return undefined;
  // A snapshot store of one's own might return any row: only this decider's, of this shape, will do.
  if (snapshot.name !== options.name || snapshot.snapshotVersion !== options.version) return undefined;
  // Stale after a soft delete (history restarts) or ahead of the stream (it was tombstoned and recreated elsewhere).
  if (snapshot.fromVersion !== foldStart(info) || snapshot.streamVersion > info.version) return undefined;
  return options.fromSnapshot ? options.fromSnapshot(snapshot.state) : (snapshot.state as State);
}

/**
 * Folds a stream into a decider's state: the latest usable snapshot, then only the events after
 * it, read page by page (a long stream never sits in memory). Snapshots are keyed by stream,
 * the decider's `snapshot.name` and the state's `snapshot.version`; those of another decider or
 * shape version, or taken before a soft delete, are never loaded.
 *
 * @example
 * const { state, version } = await loadState(store, 'cart-1', cart, { snapshots: snapshotStoreFor(store) })
 */
export async function loadState<State, C, E extends NewEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, C, E>,
  options: LoadStateOptions = {},
): Promise<LoadedState<State>> {
  const snapshotOptions = decider.snapshot;
  if (snapshotOptions) checkSnapshotOptions(snapshotOptions);
  // The snapshot and the stream's head are independent reads: run them together.
  const [snapshot, info] = await Promise.all([
    snapshotOptions && options.snapshots ? options.snapshots.load(streamId, snapshotOptions.name, snapshotOptions.version) : undefined,
    store.streamInfo(streamId),
  ]);
  const restored = snapshotOptions ? usable(snapshot, info, snapshotOptions) : undefined;
  let state = restored ?? decider.initialState();
  let version = restored === undefined ? 0 : snapshot!.streamVersion;
  let folded = 0;
  const read = store.readStream(streamId, {
    ...(restored === undefined ? {} : { fromVersion: snapshot!.streamVersion + 1 }),
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
  for await (const event of read) {
    state = decider.evolve(state, event as RecordedEvent as EvolveEvent<E>);
    version = event.streamVersion;
    folded++;
  }
  // The head may be ahead of the last visible event (a soft-deleted stream); appends check against the head.
  return {
    state,
    version: Math.max(version, info.version),
    exists: info.exists || folded > 0,
    info,
    eventsFolded: folded,
    ...(restored === undefined ? {} : { fromSnapshot: snapshot!.streamVersion }),
  };
}

/**
 * Writes a snapshot of a stream's current state now (when snapshots apply to it), whatever
 * `every` says: for streams written outside `handleCommand`, or before a planned change.
 * Returns the stream version it was taken at, or undefined when the stream cannot have one.
 *
 * @example
 * await takeSnapshot(store, 'cart-1', cart, snapshotStoreFor(store))
 */
export async function takeSnapshot<State, C, E extends NewEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, C, E>,
  snapshots: SnapshotStore,
): Promise<number | undefined> {
  if (!decider.snapshot) return undefined;
  const loaded = await loadState(store, streamId, decider, { snapshots });
  if (!snapshotsApply(loaded.info) || loaded.version === 0) return undefined;
  await snapshots.save(snapshotOf(streamId, decider.snapshot, loaded.state, loaded.version, foldStart(loaded.info)));
  return loaded.version;
}

/** The row to save for a state at a stream version. */
export function snapshotOf<State>(streamId: string, options: SnapshotOptions<State>, state: State, streamVersion: number, fromVersion: number): Snapshot {
  return {
    streamId,
    name: options.name,
    snapshotVersion: options.version,
    streamVersion,
    fromVersion,
    state: options.toSnapshot ? options.toSnapshot(state) : (state as JsonValue),
  };
}
