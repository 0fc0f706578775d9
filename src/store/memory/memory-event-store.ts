import { tracedAppend } from '../../core/telemetry/spans.js';
import { FactumError, idempotencyConflictError, streamTombstonedError } from '../../core/errors.js';
import { streamCategory, type AppendResult, type ExpectedVersion, type NewEvent, type RecordedEvent } from '../../core/message.js';
import type { AllPage, AppendOptions, ListStreamsOptions, ReadAllPageOptions, StreamInfo, StreamMetadata } from '../../core/event-store.js';
import type { SqlQueryable } from '../../core/sql-queryable.js';
import type { StoreCapabilities } from '../../core/store-capabilities.js';
import type { PreparedEvent, StoreLimits } from '../../core/validation.js';
import { BaseEventStore, type StreamPageRequest } from '../base-event-store.js';
import { preparedToRecorded } from '../recorded-event.js';
import { checkExpectedVersion, firstVisibleVersion, matchesFilter, oldestVisibleTime } from '../stream-rules.js';
import { StoreTransaction } from '../store-transaction.js';
import { IMPORT_PREPARED, type PreparedImport } from '../bulk-import.js';
import { ENLIST_TRANSACTION, type PrepareEvents, type TransactionScope } from '../transaction-scope.js';
import { MemoryDraft, type MemoryLogView } from './memory-draft.js';
import { ARCHIVE_STORAGE, tombstonedConflict, type ArchiveBounds, type ArchivedEvent, type ArchiveStorage, type VersionRange } from '../archive/archive-storage.js';

interface MemoryStream {
  version: number;
  softDeleted: boolean;
  tombstoned: boolean;
  metadata: StreamMetadata;
  /** Every event ever appended, index = version - 1 (tombstoning empties it; archiving leaves holes). */
  events: RecordedEvent[];
  /** Versions below it were archived and removed (see src/store/archive); 1 when none. */
  archivedBefore?: number;
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
 * time, so `$all` has no holes to wait on. A transaction holds the other writers back until it
 * ends and keeps its appends in a draft (memory-draft.ts) until it commits.
 *
 * @example
 * const store = new MemoryEventStore()
 * await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'a' } }])
 */
export class MemoryEventStore extends BaseEventStore {
  readonly kind = 'memory';
  /** No SQL and no sessions: handlers' effects cannot roll back, and only this process appends. */
  readonly capabilities: StoreCapabilities = Object.freeze({ sql: false, concurrentSessions: false, listen: false, inlineHooks: true, ephemeral: true });
  private readonly streams = new Map<string, MemoryStream>();
  /** The log in position order; tombstoned events are removed, so positions may have holes. */
  private log: RecordedEvent[] = [];
  private readonly byId = new Map<string, RecordedEvent>();
  private position = 0n;
  private readonly now: () => Date;
  /** Transactions open or waiting to open; while there are any, writers queue on `writers`. */
  private transactions = 0;
  private writers: Promise<unknown> = Promise.resolve();

  /** The log itself, as appends see it (a transaction's draft is the other view). */
  private readonly committed: MemoryLogView = ((store: MemoryEventStore) => ({
    streamHead: (streamId: string) => store.streams.get(streamId),
    eventById: (id: string) => store.byId.get(id),
    get head() {
      return store.position;
    },
    record: (streamId: string, recorded: RecordedEvent[]) => {
      const target = store.streams.get(streamId) ?? { version: 0, softDeleted: false, tombstoned: false, metadata: {}, events: [] };
      for (const event of recorded) {
        target.events.push(event);
        store.log.push(event);
        store.byId.set(event.id, event);
      }
      const last = recorded[recorded.length - 1]!;
      target.version = last.streamVersion;
      target.softDeleted = false;
      store.streams.set(streamId, target);
      store.position = last.globalPosition;
    },
  }))(this);

  constructor(options: MemoryEventStoreOptions = {}) {
    super(options.limits);
    this.now = options.now ?? (() => new Date());
  }

  protected async appendPrepared(streamId: string, events: PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    return this.write(() => this.appendTo(this.committed, streamId, events, expected, true));
  }

  /** One append to the log or to a draft; `inline`: run inline projections now (a draft runs them at commit). */
  private appendTo(log: MemoryLogView, streamId: string, events: PreparedEvent[], expected: ExpectedVersion, inline: boolean): AppendResult {
    const stream = log.streamHead(streamId);
    if (stream?.tombstoned) throw streamTombstonedError(streamId);
    const version = stream?.version ?? 0;
    const exists = stream !== undefined && !stream.softDeleted;

    const retry = this.findIdempotentRetry(log, streamId, events);
    if (retry) return retry;
    checkExpectedVersion(streamId, expected, version, exists);

    const recordedAt = this.now();
    // Deep copies: a caller mutating its objects later must not rewrite history.
    const recorded = events.map((e, i) => preparedToRecorded(e, streamId, version + i + 1, log.head + BigInt(i + 1), recordedAt));
    // Inline projections see the events first and synchronously: a throw leaves the log untouched.
    if (inline) this.runInline(recorded);
    log.record(streamId, recorded);
    const positions = recorded.map((e) => e.globalPosition);
    return { nextExpectedVersion: version + events.length, lastPosition: positions[positions.length - 1]!, positions, alreadyAppended: false };
  }

  private runInline(events: RecordedEvent[]): void {
    const pending = this.inlineHook?.(events, undefined);
    if (pending && typeof (pending as Promise<void>).then === 'function') {
      throw new FactumError('INVALID_ARGUMENT', 'Inline projections on the memory store must be synchronous');
    }
  }

  /** Runs a write at once, or, while a transaction is open or waiting, after it (in call order). */
  private write<T>(op: () => T): T | Promise<T> {
    if (this.transactions === 0) return op();
    const run = this.writers.then(op);
    this.writers = run.catch(() => undefined);
    return run;
  }

  /** Waits for the writers before, then holds every later one back until the returned function is called. */
  private async holdWriters(): Promise<() => void> {
    this.transactions++;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const before = this.writers;
    this.writers = before.then(() => held);
    await before;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.transactions--;
      release();
    };
  }

  protected async inTransaction<T>(body: (sql: SqlQueryable | undefined) => Promise<T>): Promise<T> {
    return body(undefined);
  }

  async [ENLIST_TRANSACTION](sql: SqlQueryable | undefined, prepare?: PrepareEvents): Promise<TransactionScope> {
    this.assertOpen();
    if (sql) throw new FactumError('INVALID_ARGUMENT', 'The memory store has no SQL session to join');
    const release = await this.holdWriters();
    const draft = new MemoryDraft(this.committed);
    const tx = new StoreTransaction(
      this.kind,
      (streamId: string, events: NewEvent[], options: AppendOptions) =>
        tracedAppend(streamId, events, async (stamped) => {
          const { prepared, expected } = this.validateAppend(streamId, stamped, options);
          return this.appendTo(draft, streamId, prepared, expected, false);
        }),
      prepare,
    );
    return {
      tx,
      beforeCommit: async () => {
        await tx.close();
        // Inline projections run as the draft commits: a transaction that rolls back never reached them.
        for (const { events } of draft.staged) this.runInline(events);
      },
      abandon: () => tx.settle(),
      end: (committed) => {
        tx.end();
        try {
          if (committed && !this.isClosed) {
            draft.commit();
            for (const { streamId, result } of tx.appended) this.announceAppended(streamId, result);
          }
        } finally {
          release();
        }
      },
    };
  }

  /** Same ids at the same consecutive versions of this stream → the first result; any other overlap → error. */
  private findIdempotentRetry(log: MemoryLogView, streamId: string, events: PreparedEvent[]): AppendResult | undefined {
    const existing = events.map((e) => log.eventById(e.id));
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
  async [IMPORT_PREPARED]({ streamIds, events }: PreparedImport): Promise<bigint> {
    this.assertOpen();
    return this.write(() => {
      for (const [i, streamId] of streamIds.entries()) {
        if (this.streams.get(streamId)?.tombstoned) throw streamTombstonedError(streamId);
        if (this.byId.has(events[i]!.id)) throw idempotencyConflictError(streamId, 1, events.length);
      }
      if (new Set(events.map((e) => e.id)).size !== events.length) throw idempotencyConflictError(streamIds[0]!, 1, events.length);
      for (let start = 0; start < events.length; ) {
        let end = start + 1;
        while (end < events.length && streamIds[end] === streamIds[start]) end++;
        this.appendTo(this.committed, streamIds[start]!, events.slice(start, end), 'any', true);
        start = end;
      }
      return this.position;
    });
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
    return this.write(() => this.setStreamMetadataNow(streamId, metadata));
  }

  private setStreamMetadataNow(streamId: string, metadata: StreamMetadata): void {
    const stream = this.streams.get(streamId);
    if (stream?.tombstoned) throw streamTombstonedError(streamId);
    // Metadata may be set before the first event, as on the SQL stores: the stream row exists
    // but the stream does not (it has no events and is marked deleted until its first append).
    if (stream) stream.metadata = metadata;
    else this.streams.set(streamId, { version: 0, softDeleted: true, tombstoned: false, metadata, events: [] });
  }

  protected async deleteStreamImpl(streamId: string, expected: ExpectedVersion, hard: boolean): Promise<void> {
    return this.write(() => this.deleteStreamNow(streamId, expected, hard));
  }

  private deleteStreamNow(streamId: string, expected: ExpectedVersion, hard: boolean): void {
    const stream = this.streams.get(streamId);
    if (stream?.tombstoned) throw streamTombstonedError(streamId);
    const version = stream?.version ?? 0;
    checkExpectedVersion(streamId, expected, version, stream !== undefined && !stream.softDeleted);
    const target = stream ?? { version: 0, softDeleted: true, tombstoned: false, metadata: {}, events: [] };
    if (hard) {
      // Archived versions are holes in the array.
      for (const event of target.events) if (event) this.byId.delete(event.id);
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

  /** Raw reads, removal and restore for the archiver (src/store/archive), by the SQL stores' rules. */
  readonly [ARCHIVE_STORAGE]: ArchiveStorage = ((store: MemoryEventStore) => ({
    lastVersionWithin: async (streamId: string, bounds: ArchiveBounds) => {
      const stream = store.streams.get(streamId);
      if (!stream) return 0;
      for (let v = stream.archivedBefore ?? 1; v <= stream.version; v++) {
        const event = stream.events[v - 1];
        if (!event) continue;
        if ((bounds.recordedBefore && event.recordedAt >= bounds.recordedBefore) || (bounds.maxPosition !== undefined && event.globalPosition > bounds.maxPosition)) return v - 1;
      }
      return stream.version;
    },
    readRanges: async (ranges: VersionRange[], limit: number) => {
      const out: ArchivedEvent[] = [];
      for (const range of ranges) {
        const stream = store.streams.get(range.streamId);
        for (let v = range.fromVersion; stream && v <= Math.min(range.toVersion, stream.version) && out.length < limit; v++) {
          const e = stream.events[v - 1];
          if (!e) continue;
          out.push({ id: e.id, streamId: e.streamId, streamVersion: e.streamVersion, globalPosition: e.globalPosition.toString(), type: e.type, data: structuredClone(e.data), metadata: structuredClone(e.metadata), schemaVersion: e.schemaVersion, recordedAt: e.recordedAt.toISOString() });
        }
      }
      return out;
    },
    removeRanges: async (ranges: VersionRange[]) => {
      store.assertOpen();
      return store.write(() => {
        const todo = ranges.filter((range) => {
          const stream = store.streams.get(range.streamId);
          const marker = stream?.archivedBefore ?? 1;
          if (marker > range.toVersion) return false;
          const whole = stream !== undefined && stream.events.slice(range.fromVersion - 1, range.toVersion).filter(Boolean).length === range.toVersion - range.fromVersion + 1;
          if (marker !== range.fromVersion || range.toVersion >= (stream?.version ?? 0) || !whole) {
            throw new FactumError('ARCHIVE_CONFLICT', `Stream "${range.streamId}": versions ${range.fromVersion} to ${range.toVersion} cannot be removed (archived before ${marker}, version ${stream?.version ?? 0})`, { details: { ...range, archivedBefore: marker } });
          }
          return true;
        });
        const gone = new Set<string>();
        for (const range of todo) {
          const stream = store.streams.get(range.streamId)!;
          for (let v = range.fromVersion; v <= range.toVersion; v++) {
            gone.add(stream.events[v - 1]!.id);
            store.byId.delete(stream.events[v - 1]!.id);
            delete stream.events[v - 1];
          }
          stream.archivedBefore = range.toVersion + 1;
        }
        if (gone.size) store.log = store.log.filter((event) => !gone.has(event.id));
        return gone.size;
      });
    },
    restoreEvents: async (events: ArchivedEvent[], ranges?: VersionRange[]) => {
      store.assertOpen();
      return store.write(() => {
        const lower = (ranges ?? []).filter((range) => {
          const stream = store.streams.get(range.streamId);
          if (stream?.tombstoned) throw tombstonedConflict(range);
          const marker = stream?.archivedBefore ?? 1;
          if (marker <= range.fromVersion) return false;
          if (marker !== range.toVersion + 1) throw new FactumError('ARCHIVE_CONFLICT', `Stream "${range.streamId}": versions ${range.fromVersion} to ${range.toVersion} cannot return in place while the stream is archived before ${marker}`, { details: { ...range, archivedBefore: marker } });
          return true;
        });
        const byPosition = new Map(store.log.map((e) => [e.globalPosition, e]));
        const fresh: RecordedEvent[] = [];
        for (const a of events) {
          const position = BigInt(a.globalPosition);
          const there = byPosition.get(position) ?? store.byId.get(a.id) ?? store.streams.get(a.streamId)?.events[a.streamVersion - 1];
          if (there && there.id === a.id && there.globalPosition === position) continue;
          if (there) throw new FactumError('ARCHIVE_CONFLICT', `Restoring event ${a.id}: its position, id or stream version is taken by event ${there.id}`, { details: { id: a.id } });
          fresh.push({ id: a.id, type: a.type, data: structuredClone(a.data), metadata: structuredClone(a.metadata) as RecordedEvent['metadata'], schemaVersion: a.schemaVersion, streamId: a.streamId, streamVersion: a.streamVersion, globalPosition: position, recordedAt: new Date(a.recordedAt) });
        }
        for (const event of fresh) {
          const stream = store.streams.get(event.streamId) ?? { version: 0, softDeleted: false, tombstoned: false, metadata: {}, events: [] };
          stream.events[event.streamVersion - 1] = event;
          stream.version = Math.max(stream.version, event.streamVersion);
          store.streams.set(event.streamId, stream);
          store.byId.set(event.id, event);
          if (event.globalPosition > store.position) store.position = event.globalPosition;
        }
        if (fresh.length) store.log = [...store.log, ...fresh].sort((a, b) => (a.globalPosition < b.globalPosition ? -1 : 1));
        for (const range of lower) store.streams.get(range.streamId)!.archivedBefore = range.fromVersion;
        return fresh.length;
      });
    },
  }))(this);

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
    ...(stream?.archivedBefore !== undefined && stream.archivedBefore > 1 ? { archivedBefore: stream.archivedBefore } : {}),
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

