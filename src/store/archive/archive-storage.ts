import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';

/**
 * One event as an archive keeps it: one line of a segment file. The position travels as a
 * string (JSON has no bigint) and the time as the store wrote it (SQL stores: ISO 8601 with
 * the database's microseconds, which a `Date` would cut to milliseconds).
 */
export interface ArchivedEvent {
  id: string;
  streamId: string;
  streamVersion: number;
  globalPosition: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  schemaVersion: number;
  recordedAt: string;
}

/** Versions `fromVersion` to `toVersion` (inclusive) of one stream. */
export interface VersionRange {
  streamId: string;
  fromVersion: number;
  toVersion: number;
}

/** Limits on what may be archived of a stream, beside its retention rule. */
export interface ArchiveBounds {
  /** Only events recorded before this time. */
  recordedBefore?: Date;
  /** Only events at or below this global position. */
  maxPosition?: bigint;
}

/**
 * What the archiver needs of a store beyond the port: raw reads that no stream metadata hides,
 * physical deletion with the stream's `archivedBefore` marker, and writes at the original
 * positions. The memory and SQL stores have it under `ARCHIVE_STORAGE`.
 */
export interface ArchiveStorage {
  /** The highest version v such that every version up to v is within `bounds` (0 if none). */
  lastVersionWithin(streamId: string, bounds: ArchiveBounds): Promise<number>;
  /**
   * Up to `limit` events of the ranges, range by range in the order given and in version order
   * within each, whatever the streams' metadata hides. Many ranges go in one round trip.
   */
  readRanges(ranges: VersionRange[], limit: number): Promise<ArchivedEvent[]>;
  /**
   * In one transaction: deletes every range from the log and raises its stream's
   * `archivedBefore` to `toVersion + 1`. A range already removed is skipped (a resumed run);
   * one that does not start at the stream's marker, or that would take the stream's last event,
   * is refused with `ARCHIVE_CONFLICT`. Resolves to the number of events deleted.
   */
  removeRanges(ranges: VersionRange[]): Promise<number>;
  /**
   * In one transaction: writes the events at their original positions, versions and times, and
   * moves the position sequence past them. With `ranges` (a restore in place) it also lowers each
   * stream's `archivedBefore` from `toVersion + 1` to `fromVersion`. An event already there (same id
   * at the same position) is skipped; any other clash is `ARCHIVE_CONFLICT` and nothing is written.
   * Resolves to the number of events written.
   */
  restoreEvents(events: ArchivedEvent[], ranges?: VersionRange[]): Promise<number>;
  /**
   * The checkpoint furthest behind of the runners kept beside the log (subscriptions,
   * projections, relays, workflow runners, partitions), or undefined when there is none. A
   * store that keeps no checkpoint tables (the memory store) has no such method.
   */
  slowestCheckpoint?(): Promise<{ name: string; position: bigint } | undefined>;
}

/** Where a store keeps its `ArchiveStorage`; a registry wrapper passes it through like any property. */
export const ARCHIVE_STORAGE = Symbol.for('factum.archiveStorage');

/**
 * The store's `ArchiveStorage`, wrapped by a registry or not. Throws `INVALID_ARGUMENT` for a
 * store that has none (an `EventStore` of your own).
 *
 * @example
 * const storage = archiveStorageOf(store)
 * const events = await storage.readRanges([{ streamId: 'order-1', fromVersion: 1, toVersion: 10 }], 100)
 */
export function archiveStorageOf(store: EventStore): ArchiveStorage {
  const own = (store as unknown as Partial<Record<typeof ARCHIVE_STORAGE, ArchiveStorage>>)[ARCHIVE_STORAGE];
  if (!own) throw new FactumError('INVALID_ARGUMENT', `The ${store.kind} store cannot archive: it has no archive storage (factum's memory, PGlite and PostgreSQL stores do)`);
  return own;
}

/**
 * Why a restore in place refuses a range: a tombstone is a hard delete, and the stream's archived
 * events do not come back into it.
 *
 * @example
 * throw tombstonedConflict({ streamId: 'order-1', fromVersion: 1, toVersion: 9 })
 */
export function tombstonedConflict(range: VersionRange): FactumError {
  return new FactumError('ARCHIVE_CONFLICT', `Stream "${range.streamId}" was tombstoned after it was archived: its events stay deleted (restore into another store with mode 'copy' to read them)`, { details: { ...range } });
}
