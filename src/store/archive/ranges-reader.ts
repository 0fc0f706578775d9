import { FactumError } from '../../core/errors.js';
import type { ArchivedEvent, ArchiveStorage, VersionRange } from './archive-storage.js';

/** Reads a list of ranges front to back, as many ranges per round trip as a request covers. */
export interface RangesReader {
  /** The next `want` events at most (fewer only at the end; none once every range is read). */
  read(want: number): Promise<ArchivedEvent[]>;
}

/**
 * Reads `ranges` in order through `storage.readRanges`, checking that every version of every
 * range comes back. Versions are contiguous and events immutable, so one that is missing was
 * deleted or archived by someone else meanwhile: `ARCHIVE_CONFLICT`, rather than an archive
 * (or a copy) with a hole in it.
 *
 * @example
 * const reader = rangesReader(storage, [{ streamId: 'order-1', fromVersion: 1, toVersion: 500 }])
 * for (let page = await reader.read(1000); page.length; page = await reader.read(1000)) write(page)
 */
export function rangesReader(storage: ArchiveStorage, ranges: VersionRange[]): RangesReader {
  let index = 0;
  let next = ranges[0]?.fromVersion ?? 0;
  return {
    async read(want: number): Promise<ArchivedEvent[]> {
      const asked: VersionRange[] = [];
      let covered = 0;
      for (let j = index; j < ranges.length && covered < want; j++) {
        const range = j === index ? { ...ranges[j]!, fromVersion: next } : ranges[j]!;
        asked.push(range);
        covered += range.toVersion - range.fromVersion + 1;
      }
      if (asked.length === 0) return [];
      const expected = Math.min(want, covered);
      const page = await storage.readRanges(asked, expected);
      let matched = 0;
      for (const event of page) {
        const range = ranges[index];
        if (!range || event.streamId !== range.streamId || event.streamVersion !== next) break;
        matched++;
        next++;
        if (next > range.toVersion) next = ranges[++index]?.fromVersion ?? 0;
      }
      if (matched !== page.length || page.length < expected) {
        const at = ranges[index] ?? ranges[ranges.length - 1]!;
        throw new FactumError('ARCHIVE_CONFLICT', `Stream "${at.streamId}": versions from ${next} to ${at.toVersion} are no longer all in the log (deleted or archived by someone else)`, { details: { streamId: at.streamId, fromVersion: next, toVersion: at.toVersion } });
      }
      return page;
    },
  };
}
