import { FactumError } from '../../core/errors.js';
import type { EventStore, StreamInfo } from '../../core/event-store.js';
import { validatePositiveInt } from '../../core/validation.js';
import { archiveStorageOf, type ArchivedEvent, type ArchiveStorage } from './archive-storage.js';
import { lockArchive } from './lock-archive.js';
import { rangesReader } from './ranges-reader.js';
import type { ArchiveManifest } from './archive-manifest.js';
import { readSegment, segmentBytes } from './read-segment.js';
import { finishedManifest } from './verify-archive.js';

/** Progress of `restoreArchive`, after every segment checked or written and every batch copied. */
export interface RestoreProgress {
  phase: 'checking' | 'restoring' | 'copying';
  /** Events restored from the archive (or, copying, live events copied) so far. */
  events: number;
  /** Events in the archive (copying: live events copied so far, the total is not known ahead). */
  total: number;
  segments: number;
}

/** Options of `restoreArchive`. */
export interface RestoreOptions {
  /** The archive's directory, as `archiveEvents` wrote it. */
  directory: string;
  /**
   * `in-place` (the default): the archived events return to the store they were taken from,
   * at their positions, and the streams' `archivedBefore` markers go back down. Archives of the
   * same streams return newest first. `copy`: into another store, typically a fresh one, at the
   * original positions, versions and times.
   */
  mode?: 'in-place' | 'copy';
  /**
   * With `copy`: the store the archive was taken from. Its live events (and stream metadata,
   * soft deletes and tombstones) are copied too, so the target becomes a full copy of the log.
   */
  live?: EventStore;
  /** Live events copied per transaction; 10,000 by default. */
  batchSize?: number;
  onProgress?: (progress: RestoreProgress) => void;
}

/** What `restoreArchive` did. */
export interface RestoreResult {
  /** Events in the archive. */
  events: number;
  /** Of those, written by this run (the others were there already: a repeated or resumed restore). */
  written: number;
  segments: number;
  /** Live events copied (`copy` with `live`). */
  liveEvents: number;
}

/**
 * Reads an archive back into a store. Every segment's checksum is verified before anything is
 * written, and again as it is read; a corrupted segment is refused with `ARCHIVE_CORRUPTED`
 * naming it, and nothing from it is written. Each segment is written in one transaction, so a
 * crash leaves whole segments, and a restore run again after it finishes the job (events
 * already there are skipped; an event that clashes with a different one is `ARCHIVE_CONFLICT`).
 *
 * Readers of `$all` that have passed the positions of restored events do not go back for them
 * (they read them before they were archived); a stream read sees its whole history again.
 * Inline projections do not run for restored events.
 *
 * @example
 * // The archived events return to the live log:
 * await restoreArchive(store, { directory: './archive/2026-12' })
 * // A full copy of the log, archived events included, in a new store:
 * await restoreArchive(fresh, { directory: './archive/2026-12', mode: 'copy', live: store })
 */
export async function restoreArchive(store: EventStore, options: RestoreOptions): Promise<RestoreResult> {
  validatePositiveInt('batchSize', options.batchSize);
  const mode = options.mode ?? 'in-place';
  if (mode !== 'in-place' && mode !== 'copy') throw new FactumError('INVALID_ARGUMENT', `mode must be 'in-place' or 'copy'`);
  if (options.live && mode !== 'copy') throw new FactumError('INVALID_ARGUMENT', `live is for mode 'copy' (a copy of the archive and the live log in another store)`);
  const storage = archiveStorageOf(store);
  const { directory } = options;
  await finishedManifest(directory); // a missing archive is NOT_FOUND, before anything is created in its place
  const release = await lockArchive(directory);
  try {
    return await restoreLocked(store, storage, await finishedManifest(directory), options);
  } finally {
    await release();
  }
}

async function restoreLocked(store: EventStore, storage: ArchiveStorage, manifest: ArchiveManifest, options: RestoreOptions): Promise<RestoreResult> {
  const { directory } = options;
  const mode = options.mode ?? 'in-place';
  const segments = manifest.segments;

  for (const [i, segment] of segments.entries()) {
    await segmentBytes(directory, segment);
    options.onProgress?.({ phase: 'checking', events: 0, total: manifest.events, segments: i + 1 });
  }

  let restored = 0;
  let written = 0;
  // In place, newest first: each segment's ranges end where its streams' markers stand.
  const order = mode === 'in-place' ? [...segments].reverse() : segments;
  for (const [i, segment] of order.entries()) {
    const events = await readSegment(directory, segment);
    written += await storage.restoreEvents(events, mode === 'in-place' ? segment.streams : undefined);
    restored += events.length;
    options.onProgress?.({ phase: 'restoring', events: restored, total: manifest.events, segments: i + 1 });
  }

  const liveEvents = options.live ? await copyLive(options.live, storage, store, options) : 0;
  return { events: manifest.events, written, segments: segments.length, liveEvents };
}

/** The live log of `source` into `target` at its positions, and its streams' settings after it. */
async function copyLive(source: EventStore, target: ArchiveStorage, targetStore: EventStore, options: RestoreOptions): Promise<number> {
  const from = archiveStorageOf(source);
  const batchSize = options.batchSize ?? 10_000;
  let copied = 0;
  let batch: ArchivedEvent[] = [];
  // A stream's settings are copied once its events are in (deleting an empty stream does nothing).
  let settled: StreamInfo[] = [];
  const flush = async () => {
    if (batch.length > 0) await target.restoreEvents(batch);
    copied += batch.length;
    batch = [];
    for (const info of settled) {
      if (Object.keys(info.metadata).length > 0) await targetStore.setStreamMetadata(info.streamId, info.metadata);
      if (info.tombstoned) await targetStore.tombstoneStream(info.streamId);
      else if (info.softDeleted) await targetStore.deleteStream(info.streamId);
    }
    settled = [];
    options.onProgress?.({ phase: 'copying', events: copied, total: copied, segments: 0 });
  };
  for (let after: string | undefined; ; ) {
    const streams = await source.listStreams({ includeDeleted: true, limit: 1000, ...(after === undefined ? {} : { after }) });
    const ranges = streams.filter((info) => info.version >= (info.archivedBefore ?? 1) && !info.tombstoned).map((info) => ({ streamId: info.streamId, fromVersion: info.archivedBefore ?? 1, toVersion: info.version }));
    const reader = rangesReader(from, ranges);
    for (let page = await reader.read(batchSize - batch.length); page.length > 0; page = await reader.read(batchSize - batch.length)) {
      batch.push(...page);
      if (batch.length >= batchSize) await flush();
    }
    settled.push(...streams.filter((info) => Object.keys(info.metadata).length > 0 || info.tombstoned || info.softDeleted));
    if (streams.length < 1000) break;
    after = streams[streams.length - 1]!.streamId;
  }
  await flush();
  return copied;
}
