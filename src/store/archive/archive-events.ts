import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventStore } from '../../core/event-store.js';
import { validatePositiveInt } from '../../core/validation.js';
import { MANIFEST_FILE, readArchiveManifest, type ArchiveManifest } from './archive-manifest.js';
import { archiveStorageOf, type ArchivedEvent, type ArchiveStorage, type VersionRange } from './archive-storage.js';

/** Events per round trip while writing segments. */
const READ_PAGE = 5000;
import { lockArchive } from './lock-archive.js';
import { planArchive } from './plan-archive.js';
import { rangesReader } from './ranges-reader.js';
import { segmentBytes } from './read-segment.js';
import type { RetentionPolicy } from './retention-policy.js';
import { writeFileAtomically } from './write-file-atomically.js';
import { writeSegment } from './write-segment.js';

/** Progress of `archiveEvents`, reported after every segment written and every batch removed. */
export interface ArchiveProgress {
  phase: 'writing' | 'removing';
  /** Events written to segments (writing) or removed from the log (removing) so far, this run and before it. */
  events: number;
  /** Events in the plan. */
  total: number;
  segments: number;
}

/** Options of `archiveEvents`. */
export interface ArchiveOptions {
  /** What to archive. A resumed archive keeps the plan it started with, whatever is passed here. */
  policy: RetentionPolicy;
  /** The archive's directory (created if missing): `manifest.json` and `segment-NNNNNN.jsonl.gz` files. One archive per directory. */
  directory: string;
  /** Events per segment file; 10,000 by default. */
  segmentSize?: number;
  /** Events removed from the log per transaction (whole stream ranges, so a batch may be larger); 10,000 by default. */
  removeBatch?: number;
  /** "Now" for max-age rules. */
  now?: Date;
  /**
   * Archive only events at or below this global position. By default, on a SQL store, the
   * position of the checkpoint furthest behind (`limitedBy` in the result says which): a runner
   * that has not yet read an event would otherwise never see it. Given, it replaces that limit
   * (pass the head position to archive past every runner).
   */
  maxPosition?: bigint;
  onProgress?: (progress: ArchiveProgress) => void;
}

/** What `archiveEvents` did. */
export interface ArchiveResult {
  directory: string;
  manifest: ArchiveManifest;
  /** Events in the archive. */
  events: number;
  /** Events removed from the live log by this run. */
  removed: number;
  /** True when this run continued an archive that an earlier run had started. */
  resumed: boolean;
  /** The checkpoint that bounded a new plan (no `maxPosition` given): nothing past its position was archived. */
  limitedBy?: { checkpoint: string; position: bigint };
}

/**
 * Retention with archival: writes the events a policy removes to cold storage, then deletes
 * them from the live log.
 *
 * 1. Plan: the ranges to archive (`planArchive`), fixed in `manifest.json` (status `writing`).
 * 2. Write: the events, read raw (stream metadata hides nothing from the archiver), go to
 *    gzipped JSON-lines segments, each written atomically and then recorded in the manifest
 *    with its SHA-256. A crash loses at most the segment being written, which the next run
 *    writes again.
 * 3. Check: every segment is read back and its checksum compared (status `written`).
 * 4. Remove: only now are the events physically deleted, a batch of stream ranges per
 *    transaction, each stream's `archivedBefore` marker raised with it. A resumed run skips the
 *    ranges already removed. Status `complete`.
 *
 * Every step is safe to repeat: after a crash (even SIGKILL), call it again with the same
 * directory and it finishes the archive it started. One run per directory at a time: another is
 * refused with `ARCHIVE_CONFLICT`. Readers of `$all` and subscriptions keep
 * working (they pass the holes); a stream's version continues, since its last event never
 * leaves the log; a stream read that reaches archived versions fails with `EVENTS_ARCHIVED`.
 *
 * @example
 * const result = await archiveEvents(store, {
 *   policy: { rules: [{ category: 'order', maxAgeSeconds: 365 * 86_400 }] },
 *   directory: './archive/2026-12',
 *   onProgress: (p) => console.log(p.phase, p.events, '/', p.total),
 * })
 * console.log(`${result.events} events archived in ${result.manifest.segments.length} segments`)
 */
export async function archiveEvents(store: EventStore, options: ArchiveOptions): Promise<ArchiveResult> {
  validatePositiveInt('segmentSize', options.segmentSize);
  validatePositiveInt('removeBatch', options.removeBatch);
  const storage = archiveStorageOf(store);
  const { directory } = options;
  await mkdir(directory, { recursive: true });
  const release = await lockArchive(directory);
  try {
    return await archiveLocked(store, storage, options);
  } finally {
    await release();
  }
}

async function archiveLocked(store: EventStore, storage: ArchiveStorage, options: ArchiveOptions): Promise<ArchiveResult> {
  const { directory } = options;
  const save = (m: ArchiveManifest) => writeFileAtomically(join(directory, MANIFEST_FILE), `${JSON.stringify(m, null, 1)}\n`);

  let manifest = await readArchiveManifest(directory);
  const resumed = manifest !== undefined;
  let limitedBy: ArchiveResult['limitedBy'];
  if (!manifest) {
    let maxPosition = options.maxPosition;
    if (maxPosition === undefined) {
      const slowest = await storage.slowestCheckpoint?.();
      if (slowest) {
        maxPosition = slowest.position;
        limitedBy = { checkpoint: slowest.name, position: slowest.position };
      }
    }
    const ranges = await planArchive(store, storage, options.policy, {
      ...(options.now ? { now: options.now } : {}),
      ...(maxPosition !== undefined ? { maxPosition } : {}),
    });
    const streams = ranges.map((r) => ({ ...r, events: r.toVersion - r.fromVersion + 1 }));
    manifest = {
      format: 'factum-archive/1',
      status: 'writing',
      createdAt: new Date().toISOString(),
      storeKind: store.kind,
      policy: options.policy,
      streams,
      events: streams.reduce((sum, r) => sum + r.events, 0),
      segments: [],
    };
    await save(manifest);
  }

  if (manifest.status === 'writing') {
    await writeSegments(storage, directory, manifest, options, save);
    // Read back before anything is deleted: what the log loses must be on disk as the manifest says.
    for (const segment of manifest.segments) await segmentBytes(directory, segment);
    manifest.status = 'written';
    await save(manifest);
  }

  let removed = 0;
  if (manifest.status === 'written') {
    removed = await removeArchived(storage, manifest, options);
    manifest.status = 'complete';
    await save(manifest);
  }
  return { directory, manifest, events: manifest.events, removed, resumed, ...(limitedBy ? { limitedBy } : {}) };
}

/** Step 2: the planned events not yet in a segment, into new segments, the manifest saved after each. */
async function writeSegments(storage: ArchiveStorage, directory: string, manifest: ArchiveManifest, options: ArchiveOptions, save: (m: ArchiveManifest) => Promise<void>): Promise<void> {
  const segmentSize = options.segmentSize ?? 10_000;
  const done = new Map<string, number>();
  for (const segment of manifest.segments) for (const r of segment.streams) done.set(r.streamId, Math.max(done.get(r.streamId) ?? 0, r.toVersion));
  let written = manifest.segments.reduce((sum, s) => sum + s.events, 0);
  let buffer: ArchivedEvent[] = [];

  const flush = async () => {
    if (buffer.length === 0) return;
    const file = `segment-${String(manifest.segments.length + 1).padStart(6, '0')}.jsonl.gz`;
    const segment = await writeSegment(directory, file, buffer);
    manifest.segments.push(segment);
    written += buffer.length;
    if (manifest.firstPosition === undefined || BigInt(segment.firstPosition) < BigInt(manifest.firstPosition)) manifest.firstPosition = segment.firstPosition;
    if (manifest.lastPosition === undefined || BigInt(segment.lastPosition) > BigInt(manifest.lastPosition)) manifest.lastPosition = segment.lastPosition;
    await save(manifest);
    buffer = [];
    options.onProgress?.({ phase: 'writing', events: written, total: manifest.events, segments: manifest.segments.length });
  };

  const remaining: VersionRange[] = [];
  for (const { streamId, fromVersion, toVersion } of manifest.streams) {
    const from = Math.max(fromVersion, (done.get(streamId) ?? 0) + 1);
    if (from <= toVersion) remaining.push({ streamId, fromVersion: from, toVersion });
  }
  const reader = rangesReader(storage, remaining);
  // The next page is read while a full segment is compressed and flushed to disk.
  const ahead = (want: number) => {
    const page = reader.read(want);
    page.catch(() => undefined);
    return page;
  };
  for (let pending = ahead(Math.min(segmentSize, READ_PAGE)); ; ) {
    const page = await pending;
    if (page.length === 0) break;
    buffer.push(...page);
    const full = buffer.length >= segmentSize;
    pending = ahead(Math.min(READ_PAGE, full ? segmentSize : segmentSize - buffer.length));
    if (full) await flush();
  }
  await flush();
}

/** Step 4: the planned ranges out of the live log, in batches, each with its markers. */
async function removeArchived(storage: ArchiveStorage, manifest: ArchiveManifest, options: ArchiveOptions): Promise<number> {
  const batchSize = options.removeBatch ?? 10_000;
  let removed = 0;
  let passed = 0;
  let batch: VersionRange[] = [];
  let inBatch = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    removed += await storage.removeRanges(batch);
    passed += inBatch;
    batch = [];
    inBatch = 0;
    options.onProgress?.({ phase: 'removing', events: passed, total: manifest.events, segments: manifest.segments.length });
  };
  for (const { streamId, fromVersion, toVersion, events } of manifest.streams) {
    batch.push({ streamId, fromVersion, toVersion });
    inBatch += events;
    if (inBatch >= batchSize) await flush();
  }
  await flush();
  return removed;
}
