import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { FactumError } from '../../core/errors.js';
import type { ArchiveSegment } from './archive-manifest.js';
import type { ArchivedEvent } from './archive-storage.js';

const gunzipped = promisify(gunzip);

/**
 * The bytes of a segment, checked against the manifest's size and SHA-256. A missing, shorter,
 * longer or altered file is `ARCHIVE_CORRUPTED`, naming the segment (`details.segment`).
 *
 * @example
 * await segmentBytes('./archive', manifest.segments[0])
 */
export async function segmentBytes(directory: string, segment: ArchiveSegment): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(directory, segment.file));
  } catch (error) {
    throw corrupted(segment, `cannot be read (${(error as Error).message})`, error);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== segment.bytes || sha256 !== segment.sha256) {
    throw corrupted(segment, `does not match the manifest (${bytes.length} bytes, sha256 ${sha256}; the manifest says ${segment.bytes} bytes, sha256 ${segment.sha256})`);
  }
  return bytes;
}

/**
 * The events of a segment, after checking its bytes (`segmentBytes`) and that its lines are the
 * events the manifest lists: the same count, stream ranges and position range.
 *
 * @example
 * for (const segment of manifest.segments) console.log((await readSegment('./archive', segment)).length)
 */
export async function readSegment(directory: string, segment: ArchiveSegment): Promise<ArchivedEvent[]> {
  const bytes = await segmentBytes(directory, segment);
  let events: ArchivedEvent[];
  try {
    const text = (await gunzipped(bytes)).toString('utf8');
    events = text.split('\n').filter((line) => line.length > 0).map((line) => JSON.parse(line) as ArchivedEvent);
  } catch (error) {
    throw corrupted(segment, `cannot be unpacked (${(error as Error).message})`, error);
  }
  if (events.length !== segment.events) throw corrupted(segment, `holds ${events.length} events, the manifest says ${segment.events}`);
  let i = 0;
  for (const range of segment.streams) {
    for (let version = range.fromVersion; version <= range.toVersion; version++, i++) {
      const event = events[i];
      if (!event || event.streamId !== range.streamId || event.streamVersion !== version) {
        throw corrupted(segment, `line ${i + 1} is not version ${version} of stream "${range.streamId}" as the manifest says`);
      }
      const position = BigInt(event.globalPosition);
      if (position < BigInt(segment.firstPosition) || position > BigInt(segment.lastPosition)) {
        throw corrupted(segment, `line ${i + 1} has position ${event.globalPosition}, outside ${segment.firstPosition}..${segment.lastPosition}`);
      }
    }
  }
  return events;
}

function corrupted(segment: ArchiveSegment, why: string, cause?: unknown): FactumError {
  return new FactumError('ARCHIVE_CORRUPTED', `Archive segment ${segment.file} ${why}`, { ...(cause === undefined ? {} : { cause }), details: { segment: segment.file } });
}
