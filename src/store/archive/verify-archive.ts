import { FactumError } from '../../core/errors.js';
import { readArchiveManifest, type ArchiveManifest } from './archive-manifest.js';
import { readSegment } from './read-segment.js';

/** What `verifyArchive` checked. */
export interface VerifiedArchive {
  manifest: ArchiveManifest;
  segments: number;
  events: number;
}

/**
 * Checks a whole archive without touching a store: the manifest is complete, and every segment
 * is present, has the size and SHA-256 the manifest says, unpacks, and holds exactly the events
 * it lists. The first failure is `ARCHIVE_CORRUPTED` naming the segment (`details.segment`); an
 * archive whose writing has not finished is `INVALID_ARGUMENT`.
 *
 * @example
 * const { events, segments } = await verifyArchive('./archive/2026-12')
 */
export async function verifyArchive(directory: string): Promise<VerifiedArchive> {
  const manifest = await finishedManifest(directory);
  let events = 0;
  for (const segment of manifest.segments) events += (await readSegment(directory, segment)).length;
  if (events !== manifest.events) {
    throw new FactumError('ARCHIVE_CORRUPTED', `The archive in ${directory} holds ${events} events, its manifest plans ${manifest.events}`, { details: { file: 'manifest.json' } });
  }
  return { manifest, segments: manifest.segments.length, events };
}

/** The manifest of an archive whose segments are all written, else a typed error. */
export async function finishedManifest(directory: string): Promise<ArchiveManifest> {
  const manifest = await readArchiveManifest(directory);
  if (!manifest) throw new FactumError('NOT_FOUND', `No archive in ${directory} (no manifest.json)`, { details: { directory } });
  if (manifest.status === 'writing') {
    throw new FactumError('INVALID_ARGUMENT', `The archive in ${directory} is still being written (status "writing"): run the archiver again on it to finish it`, { details: { directory } });
  }
  return manifest;
}
