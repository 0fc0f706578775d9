import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FactumError } from '../../core/errors.js';
import type { VersionRange } from './archive-storage.js';
import type { RetentionPolicy } from './retention-policy.js';

/** One segment file of an archive: gzipped JSON lines, one `ArchivedEvent` per line. */
export interface ArchiveSegment {
  /** The file's name in the archive's directory. */
  file: string;
  events: number;
  /** Size of the file, and the SHA-256 (hex) of its bytes as written. */
  bytes: number;
  sha256: string;
  /** Lowest and highest global position in the segment (decimal strings). */
  firstPosition: string;
  lastPosition: string;
  /** The stream ranges it holds, in the order of its lines (streams in id order, versions ascending). */
  streams: VersionRange[];
}

/**
 * What an archive holds, in `manifest.json` beside its segments. Written atomically at every
 * step, it is also the archiver's progress: `writing` (the plan is fixed and `segments` lists
 * those finished), `written` (every segment is on disk, nothing deleted yet), `complete` (the
 * archived events are gone from the live log).
 */
export interface ArchiveManifest {
  format: 'factum-archive/1';
  status: 'writing' | 'written' | 'complete';
  createdAt: string;
  /** The kind of store the events came from (`memory`, `pglite`, `postgres`). */
  storeKind: string;
  policy: RetentionPolicy;
  /** The plan: every range to archive, fixed when the archive starts, so a resumed run archives the same events. */
  streams: Array<VersionRange & { events: number }>;
  /** Events in the plan. */
  events: number;
  segments: ArchiveSegment[];
  /** Lowest and highest global position over the segments written (absent while there are none). */
  firstPosition?: string;
  lastPosition?: string;
}

/** The manifest's file name inside an archive's directory. */
export const MANIFEST_FILE = 'manifest.json';

/**
 * Reads the manifest of the archive in `directory`; undefined when there is none. A manifest
 * that cannot be read as one is `ARCHIVE_CORRUPTED`.
 *
 * @example
 * const manifest = await readArchiveManifest('./archive/2026-12')
 * console.log(manifest?.status, manifest?.events, manifest?.segments.length)
 */
export async function readArchiveManifest(directory: string): Promise<ArchiveManifest | undefined> {
  const path = join(directory, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw new FactumError('STORAGE_ERROR', `Reading ${path} failed: ${(error as Error).message}`, { cause: error });
  }
  let manifest: Partial<ArchiveManifest>;
  try {
    manifest = JSON.parse(text) as Partial<ArchiveManifest>;
  } catch (error) {
    throw new FactumError('ARCHIVE_CORRUPTED', `${path} is not JSON: ${(error as Error).message}`, { cause: error, details: { file: MANIFEST_FILE } });
  }
  if (manifest.format !== 'factum-archive/1' || !Array.isArray(manifest.segments) || !Array.isArray(manifest.streams)) {
    throw new FactumError('ARCHIVE_CORRUPTED', `${path} is not a factum archive manifest (format factum-archive/1)`, { details: { file: MANIFEST_FILE } });
  }
  return manifest as ArchiveManifest;
}
