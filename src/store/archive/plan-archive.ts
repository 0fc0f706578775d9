import type { EventStore, StreamInfo } from '../../core/event-store.js';
import type { ArchiveStorage, VersionRange } from './archive-storage.js';
import { retentionRuleFor, type RetentionPolicy } from './retention-policy.js';

/** Options of `planArchive`. */
export interface PlanArchiveOptions {
  /** "Now" for max-age rules; the current time by default. */
  now?: Date;
  /** Only events at or below this global position (e.g. the slowest subscription's checkpoint). */
  maxPosition?: bigint;
}

/**
 * The ranges a retention policy moves out of the live log, one per stream (in stream id order):
 * from the stream's first version still in the log to the highest version any of its rule's
 * limits names, never its last event. Soft-deleted and tombstoned streams are left alone.
 *
 * @example
 * const ranges = await planArchive(store, storage, { rules: [{ category: 'order', maxCount: 100 }] })
 */
export async function planArchive(store: EventStore, storage: ArchiveStorage, policy: RetentionPolicy, options: PlanArchiveOptions = {}): Promise<VersionRange[]> {
  const now = options.now ?? new Date();
  const candidates = new Map<string, StreamInfo>();
  const everyStream = policy.rules.some((rule) => rule.streamId === undefined && rule.category === undefined);
  const categories = everyStream ? [undefined] : [...new Set(policy.rules.filter((r) => r.streamId === undefined).map((r) => r.category))];
  for (const category of categories) {
    for (let after: string | undefined; ; ) {
      const page = await store.listStreams({ ...(category === undefined ? {} : { category }), ...(after === undefined ? {} : { after }), limit: 1000 });
      for (const info of page) candidates.set(info.streamId, info);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.streamId;
    }
  }
  for (const rule of policy.rules) {
    if (rule.streamId !== undefined && !candidates.has(rule.streamId)) candidates.set(rule.streamId, await store.streamInfo(rule.streamId));
  }

  const ranges: VersionRange[] = [];
  for (const info of [...candidates.values()].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0))) {
    const rule = retentionRuleFor(policy, info.streamId);
    if (!rule || !info.exists) continue;
    const from = info.archivedBefore ?? 1;
    let to = 0;
    if (rule.beforeVersion !== undefined) to = Math.max(to, rule.beforeVersion - 1);
    if (rule.maxCount !== undefined) to = Math.max(to, info.version - rule.maxCount);
    if (rule.maxAgeSeconds !== undefined) {
      to = Math.max(to, await storage.lastVersionWithin(info.streamId, { recordedBefore: new Date(now.getTime() - rule.maxAgeSeconds * 1000) }));
    }
    // The last event stays: the log's last version is the stream's version.
    to = Math.min(to, info.version - 1);
    if (options.maxPosition !== undefined && to >= from) to = Math.min(to, await storage.lastVersionWithin(info.streamId, { maxPosition: options.maxPosition }));
    if (to >= from) ranges.push({ streamId: info.streamId, fromVersion: from, toVersion: to });
  }
  return ranges;
}
