import { FactumError, idempotencyConflictError, streamTombstonedError } from '../../core/errors.js';
import { streamCategory, type AppendResult, type ExpectedVersion, type RecordedEvent } from '../../core/message.js';
import type { AllPage, ListStreamsOptions, ReadAllPageOptions, StreamInfo, StreamMetadata } from '../../core/event-store.js';
import type { PreparedEvent, StoreLimits } from '../../core/validation.js';
import { BaseEventStore, type StreamPageRequest } from '../base-event-store.js';
import { preparedToRecorded } from '../recorded-event.js';
import { checkExpectedVersion, firstVisibleVersion, matchesFilter, oldestVisibleTime } from '../stream-rules.js';

interface MemoryStream {
  version: number;
  softDeleted: boolean;
  tombstoned: boolean;
  metadata: StreamMetadata;
  /** Every event ever appended, index = version - 1 (tombstoning empties it). */
  events: RecordedEvent[];
}

/** Options of the in-memory store. */
export interface MemoryEventStoreOptions {
  limits?: Partial<StoreLimits>;
  /** Time source for `recordedAt`; tests pass a fake clock. */
  now?: () => Date;
}

/**
 * The reference implementation: the whole log in process memory. For unit tests and users'
 * own tests; it passes the same conformance suite as the SQL stores. Appends run one at a
 * time, so `$all` has no holes to wait on.
 *
 * @example
 * const store = new MemoryEventStore()
 * await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'a' } }])
 */
export class MemoryEventStore extends BaseEventStore {
  readonly kind = 'memory';
  private readonly streams = new Map<string, MemoryStream>();
  /** The log in position order; tombstoned events are removed, so positions may have holes. */
  private log: RecordedEvent[] = [];
  private readonly byId = new Map<string, RecordedEvent>();
  private position = 0n;
  private readonly now: () => Date;

  constructor(options: MemoryEventStoreOptions = {}) {
    super(options.limits);
    this.now = options.now ?? (() => new Date());
  }

  protected async appendPrepared(streamId: string, events: PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const stream = this.streams.get(streamId);
    if (stream?.tombstoned) throw streamTombstonedError(streamId);
    const version = stream?.version ?? 0;
    const exists = stream !== undefined && !stream.softDeleted;

    const retry = this.findIdempotentRetry(streamId, events);
    if (retry) return retry;
    checkExpectedVersion(streamId, expected, version, exists);

    const recordedAt = this.now();
    if (this.inlineHook) {
      // Inline projections see the events first and synchronously: a throw leaves the log untouched.
      const preview = events.map((e, i) => preparedToRecorded(e, streamId, version + i + 1, this.position + BigInt(i + 1), recordedAt));
      const pending = this.inlineHook(preview, undefined);
      if (pending && typeof (pending as Promise<void>).then === 'function') {
        throw new FactumError('INVALID_ARGUMENT', 'Inline projections on the memory store must be synchronous');
      }
    }
    const target = stream ?? { version: 0, softDeleted: false, tombstoned: false, metadata: {}, events: [] };
    const positions: bigint[] = [];
    // Deep copies: a caller mutating its objects later must not rewrite history.
    for (const [i, e] of events.entries()) {
      this.position += 1n;
      const recorded = preparedToRecorded(e, streamId, version + i + 1, this.position, recordedAt);
      target.events.push(recorded);
      this.log.push(recorded);
      this.byId.set(recorded.id, recorded);
      positions.push(recorded.globalPosition);
    }
    target.version = version + events.length;
    target.softDeleted = false;
    this.streams.set(streamId, target);
    return { nextExpectedVersion: target.version, lastPosition: this.position, positions, alreadyAppended: false };
  }

  /** Same ids at the same consecutive versions of this stream → the first result; any other overlap → error. */
  private findIdempotentRetry(streamId: string, events: PreparedEvent[]): AppendResult | undefined {
    const existing = events.map((e) => this.byId.get(e.id));
    if (existing.every((e) => e === undefined)) return undefined;
    const first = existing[0];
    const exact =
      first !== undefined &&
      existing.every((e, i) => e !== undefined && e.streamId === streamId && e.streamVersion === first.streamVersion + i);
    if (!exact) throw idempotencyConflictError(streamId, existing.filter((e) => e !== undefined).length, events.length);
    const recorded = existing as RecordedEvent[];
    const last = recorded[recorded.length - 1]!;
    return { nextExpectedVersion: last.streamVersion, lastPosition: last.globalPosition, positions: recorded.map((e) => e.globalPosition), alreadyAppended: true };
  }

  /**
   * One import batch (see importEvents), all or nothing: every stream and id is checked before
   * the first event is written.
   */
  async importPrepared(streamIds: string[], events: PreparedEvent[]): Promise<bigint> {
    this.assertOpen();
    for (const [i, streamId] of streamIds.entries()) {
      if (this.streams.get(streamId)?.tombstoned) throw streamTombstonedError(streamId);
      if (this.byId.has(events[i]!.id)) throw idempotencyConflictError(streamId, 1, events.length);
    }
    if (new Set(events.map((e) => e.id)).size !== events.length) throw idempotencyConflictError(streamIds[0]!, 1, events.length);
    for (let start = 0; start < events.length; ) {
      let end = start + 1;
      while (end < events.length && streamIds[end] === streamIds[start]) end++;
      await this.appendPrepared(streamIds[start]!, events.slice(start, end), 'any');
      start = end;
    }
    return this.position;
  }

  protected async readStreamPage(streamId: string, request: StreamPageRequest): Promise<RecordedEvent[]> {
    const stream = this.streams.get(streamId);
    if (!stream) return [];
    const first = firstVisibleVersion(stream.metadata, stream.version);
    const oldest = oldestVisibleTime(stream.metadata, this.now());
    const forward = request.direction === 'forward';
    const low = Math.max(first, forward ? request.fromVersion : request.toVersion);
    const high = Math.min(stream.version, forward ? request.toVersion : request.fromVersion);
    const page: RecordedEvent[] = [];
    for (let v = forward ? low : high; forward ? v <= high : v >= low; v += forward ? 1 : -1) {
      const event = stream.events[v - 1];
      if (!event) continue;
      if (oldest && event.recordedAt < oldest) continue;
      if (request.asOf && event.recordedAt > request.asOf) continue;
      page.push(copy(event));
      if (page.length >= request.limit) break;
    }
    return page;
  }

  protected async readAllPageImpl(after: bigint, limit: number, filter: ReadAllPageOptions): Promise<AllPage> {
    const events: RecordedEvent[] = [];
    let position = after;
    let index = lowerBound(this.log, after);
    for (; index < this.log.length && events.length < limit; index++) {
      const event = this.log[index]!;
      if (matchesFilter(event, filter)) events.push(copy(event));
      position = event.globalPosition;
    }
    // Nothing left to scan: every position up to the head is read (holes are tombstoned events).
    if (index >= this.log.length) position = this.position > position ? this.position : position;
    return { events, position, headPosition: this.position };
  }

  protected async headPositionImpl(): Promise<bigint> {
    return this.position;
  }

  protected async streamInfoImpl(streamId: string): Promise<StreamInfo> {
    return info(streamId, this.streams.get(streamId));
  }

  protected async setStreamMetadataImpl(streamId: string, metadata: StreamMetadata): Promise<void> {
    const stream = this.streams.get(streamId);
    if (stream?.tombstoned) throw streamTombstonedError(streamId);
    // Metadata may be set before the first event, as on the SQL stores: the stream row exists
    // but the stream does not (it has no events and is marked deleted until its first append).
    if (stream) stream.metadata = metadata;
    else this.streams.set(streamId, { version: 0, softDeleted: true, tombstoned: false, metadata, events: [] });
  }

  protected async deleteStreamImpl(streamId: string, expected: ExpectedVersion, hard: boolean): Promise<void> {
    const stream = this.streams.get(streamId);
    if (stream?.tombstoned) throw streamTombstonedError(streamId);
    const version = stream?.version ?? 0;
    checkExpectedVersion(streamId, expected, version, stream !== undefined && !stream.softDeleted);
    const target = stream ?? { version: 0, softDeleted: true, tombstoned: false, metadata: {}, events: [] };
    if (hard) {
      for (const event of target.events) this.byId.delete(event.id);
      this.log = this.log.filter((event) => event.streamId !== streamId);
      target.events = [];
      target.tombstoned = true;
    } else {
      target.metadata = { ...target.metadata, truncateBefore: version + 1 };
    }
    target.softDeleted = true;
    this.streams.set(streamId, target);
  }

  protected async listStreamsImpl(options: ListStreamsOptions & { limit: number }): Promise<StreamInfo[]> {
    return [...this.streams.entries()]
      .filter(([id, s]) => (options.includeDeleted || (!s.softDeleted && !s.tombstoned)) && (options.category === undefined || streamCategory(id) === options.category) && (options.after === undefined || id > options.after))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, options.limit)
      .map(([id, s]) => info(id, s));
  }

  protected async closeImpl(): Promise<void> {
    // Nothing to release; the closed flag in the base class stops further use.
  }
}

function info(streamId: string, stream: MemoryStream | undefined): StreamInfo {
  return {
    streamId,
    version: stream?.version ?? 0,
    exists: stream !== undefined && !stream.softDeleted && !stream.tombstoned,
    softDeleted: stream !== undefined && stream.softDeleted && !stream.tombstoned && stream.version > 0,
    tombstoned: stream?.tombstoned ?? false,
    metadata: structuredClone(stream?.metadata ?? {}),
  };
}

function copy(event: RecordedEvent): RecordedEvent {
  return { ...event, data: structuredClone(event.data), metadata: structuredClone(event.metadata), recordedAt: new Date(event.recordedAt) };
}

/** Index of the first event with a position greater than `after` (the log is sorted). */
function lowerBound(log: RecordedEvent[], after: bigint): number {
  let low = 0;
  let high = log.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (log[mid]!.globalPosition <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

