import { ConcurrencyError } from '../core/errors.js';
import { describeExpectedVersion, streamCategory, type ExpectedVersion, type RecordedEvent } from '../core/message.js';
import type { AllFilter, StreamMetadata } from '../core/event-store.js';

/**
 * The expected-version rule, shared by every store so that none of them can silently ignore
 * a mode. `version` is the last version ever written; `exists` is false for a stream never
 * written, soft-deleted or tombstoned.
 */
export function checkExpectedVersion(streamId: string, expected: ExpectedVersion, version: number, exists: boolean): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && !exists) ||
    (expected === 'stream_exists' && exists) ||
    (typeof expected === 'number' && expected === version);
  if (!ok) throw new ConcurrencyError(streamId, describeExpectedVersion(expected), version, exists);
}

/** The lowest version a stream read may return, given the stream's metadata and head. */
export function firstVisibleVersion(metadata: StreamMetadata, version: number): number {
  let first = Math.max(1, metadata.truncateBefore ?? 1);
  if (metadata.maxCount !== undefined) first = Math.max(first, version - metadata.maxCount + 1);
  return first;
}

/** The oldest `recordedAt` a stream read may return under `maxAgeSeconds`, if set. */
export function oldestVisibleTime(metadata: StreamMetadata, now: Date): Date | undefined {
  return metadata.maxAgeSeconds === undefined ? undefined : new Date(now.getTime() - metadata.maxAgeSeconds * 1000);
}

/** True when the event passes a `$all` filter. */
export function matchesFilter(event: RecordedEvent, filter: AllFilter): boolean {
  if (filter.types?.length && !filter.types.includes(event.type)) return false;
  if (filter.categories?.length && !filter.categories.includes(streamCategory(event.streamId))) return false;
  return true;
}
