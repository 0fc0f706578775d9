import { AsyncLocalStorage } from 'node:async_hooks';
import { FactumError } from '../core/errors.js';
import type { SqlQueryable } from './sql/sql-client.js';
import { ENLIST_TRANSACTION, RUN_TRANSACTION, type PrepareEvents, type TransactionCapable, type TransactionScope } from './transaction-scope.js';
import { pagedIterator } from './paged-iterator.js';
import { SESSION_READS, type StreamReads } from './session-reads.js';
import { firstVisibleVersion } from './stream-rules.js';
import { tracedAppend } from '../core/telemetry/spans.js';
import { countAppended } from '../core/telemetry/instruments.js';
import { SET_INLINE_HOOK, type InlineHook } from './inline-hook.js';
import { STORE_SERVICES, StoreServices } from './store-services.js';
import type { StoreCapabilities } from '../core/store-capabilities.js';
import type { AppendResult, ExpectedVersion, NewEvent, RecordedEvent } from '../core/message.js';
import type {
  AllPage,
  AppendOptions,
  DeleteStreamOptions,
  EventStore,
  EventStoreTransaction,
  ListStreamsOptions,
  ReadAllOptions,
  ReadAllPageOptions,
  ReadStreamOptions,
  StreamInfo,
  StreamMetadata,
} from '../core/event-store.js';
import {
  DEFAULT_LIMITS,
  prepareAppend,
  validateExpectedVersion,
  validatePositiveInt,
  validateStreamId,
  type PreparedEvent,
  type StoreLimits,
} from '../core/validation.js';

/** One page request of a stream read, already validated; versions inclusive. */
export interface StreamPageRequest {
  direction: 'forward' | 'backward';
  fromVersion: number;
  toVersion: number;
  limit: number;
  asOf?: Date;
}

const DEFAULT_PAGE = 1000;

/** Where an async context stands: inside the callback of a store's transaction (and of the transactions around it). */
interface InsideTransaction {
  store: BaseEventStore;
  /** Set when the callback has returned: work it left running may use the store again. */
  ended: boolean;
  outer: InsideTransaction | undefined;
}
/** One for every store: each AsyncLocalStorage in use costs every promise of the process a little. */
const insideTransactions = new AsyncLocalStorage<InsideTransaction>();

/**
 * What all stores share: argument validation, the closed state, and paging. Implementations
 * supply the storage primitives, so behaviour above them cannot drift between stores.
 */
export abstract class BaseEventStore implements EventStore, TransactionCapable {
  abstract readonly kind: string;
  abstract readonly capabilities: StoreCapabilities;
  /** The side object (store-services.ts): what the layers above keep for this store. */
  readonly [STORE_SERVICES] = new StoreServices();
  protected readonly limits: StoreLimits;
  private closed = false;

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  protected abstract appendPrepared(streamId: string, events: PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult>;
  /** `on`: a session in a transaction to read on (see `SESSION_READS`), instead of the store's pool. */
  protected abstract readStreamPage(streamId: string, request: StreamPageRequest, on?: SqlQueryable): Promise<RecordedEvent[]>;
  protected abstract readAllPageImpl(after: bigint, limit: number, options: ReadAllPageOptions): Promise<AllPage>;
  protected abstract headPositionImpl(): Promise<bigint>;
  protected abstract streamInfoImpl(streamId: string, on?: SqlQueryable): Promise<StreamInfo>;
  protected abstract setStreamMetadataImpl(streamId: string, metadata: StreamMetadata): Promise<void>;
  protected abstract deleteStreamImpl(streamId: string, expected: ExpectedVersion, hard: boolean): Promise<void>;
  protected abstract listStreamsImpl(options: ListStreamsOptions & { limit: number }): Promise<StreamInfo[]>;
  protected abstract closeImpl(): Promise<void>;
  /** Runs `body` in a transaction of the store's own (SQL: BEGIN ... COMMIT on one session). */
  protected abstract inTransaction<T>(body: (sql: SqlQueryable | undefined) => Promise<T>): Promise<T>;
  abstract [ENLIST_TRANSACTION](sql: SqlQueryable | undefined, prepare?: PrepareEvents): Promise<TransactionScope>;

  protected get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Every public call starts here. Inside one of this store's transaction callbacks a call on
   * the store itself is refused: it would run outside the transaction, or (PGlite, the memory
   * store) wait behind the very transaction that waits for it.
   */
  protected assertOpen(): void {
    this.assertNotClosed();
    for (let inside = insideTransactions.getStore(); inside; inside = inside.outer) {
      if (inside.store === this && !inside.ended) throw new FactumError('TRANSACTION_IN_PROGRESS', `Called the ${this.kind} store from inside its own transaction: use the callback's tx (tx.append, tx.sql), or call after the transaction`);
    }
  }

  private assertNotClosed(): void {
    if (this.closed) throw new FactumError('STORE_CLOSED', `The ${this.kind} event store is closed`);
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.assertOpen();
    return tracedAppend(streamId, events, async (stamped) => {
      const { prepared, expected } = this.validateAppend(streamId, stamped, options);
      const result = await this.appendPrepared(streamId, prepared, expected);
      if (!result.alreadyAppended) this.announceAppended(streamId, result);
      return result;
    });
  }

  /** An append's events validated and serialised, and its expected version: what every append path starts with. */
  protected validateAppend(streamId: string, events: NewEvent[], options: AppendOptions): { prepared: PreparedEvent[]; expected: ExpectedVersion } {
    this.assertNotClosed();
    const expected = options.expectedVersion === undefined ? 'any' : options.expectedVersion;
    return { prepared: prepareAppend(streamId, events, expected, this.limits), expected };
  }

  /** New events committed (not an idempotent retry, not a rolled-back transaction): counted, and told to the listeners. */
  protected announceAppended(streamId: string, result: AppendResult): void {
    countAppended(streamId, result.positions.length);
    if (this.appendListeners.size) for (const listener of this.appendListeners) listener(result);
  }

  transaction<T>(fn: (tx: EventStoreTransaction) => Promise<T>): Promise<T> {
    return this[RUN_TRANSACTION](fn);
  }

  async [RUN_TRANSACTION]<T>(fn: (tx: EventStoreTransaction) => Promise<T>, prepare?: PrepareEvents): Promise<T> {
    this.assertOpen();
    if (typeof fn !== 'function') throw new FactumError('INVALID_ARGUMENT', 'transaction takes a function: store.transaction(async (tx) => { ... })');
    let scope: TransactionScope | undefined;
    let committed = false;
    try {
      const result = await this.inTransaction(async (sql) => {
        const open = (scope = await this[ENLIST_TRANSACTION](sql, prepare));
        const inside: InsideTransaction = { store: this, ended: false, outer: insideTransactions.getStore() };
        let value: T;
        try {
          value = await insideTransactions.run(inside, () => fn(open.tx));
        } catch (error) {
          // Let the steps in flight finish before the rollback; the callback's error is the answer.
          inside.ended = true;
          await open.abandon();
          throw error;
        }
        inside.ended = true;
        await open.beforeCommit();
        return value;
      });
      committed = true;
      return result;
    } finally {
      scope?.end(committed);
    }
  }

  private readonly appendListeners = new Set<(result: AppendResult) => void>();

  /**
   * Inline projections (src/projections/inline-projections.ts): runs inside the append, with the
   * events as recorded. SQL stores pass the append's transaction; the memory store calls it
   * synchronously before it changes anything. A throw cancels the append.
   */
  inlineHook?: InlineHook;

  [SET_INLINE_HOOK](hook: InlineHook | undefined): void {
    this.inlineHook = hook;
  }

  /**
   * Calls `listener` after every committed append made through this store object: the
   * in-process wake-up of subscriptions (src/consumers). Returns the function that removes it.
   *
   * @example
   * const off = store.onAppended((result) => console.log('appended up to', result.lastPosition))
   */
  onAppended(listener: (result: AppendResult) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterableIterator<RecordedEvent> {
    return this.readStreamOn(streamId, options, undefined);
  }

  private readStreamOn(streamId: string, options: ReadStreamOptions, on: SqlQueryable | undefined): AsyncIterableIterator<RecordedEvent> {
    const pages = this.streamPages(streamId, options, on);
    return pagedIterator(
      async () => {
        const next = await pages.next();
        return next.done ? undefined : next.value;
      },
      () => pages.return(undefined),
    );
  }

  /** A stream read page by page: readStream yields their events, loadStream keeps them. */
  private async *streamPages(streamId: string, options: ReadStreamOptions, on: SqlQueryable | undefined, known?: StreamInfo): AsyncGenerator<RecordedEvent[]> {
    this.assertOpen();
    validateStreamId(streamId);
    validatePositiveInt('limit', options.limit, true);
    validatePositiveInt('pageSize', options.pageSize);
    validatePositiveInt('fromVersion', options.fromVersion, true);
    validatePositiveInt('toVersion', options.toVersion, true);
    if (options.asOf !== undefined && !(options.asOf instanceof Date && !Number.isNaN(options.asOf.getTime()))) {
      throw new FactumError('INVALID_ARGUMENT', 'asOf must be a valid Date');
    }
    const direction = options.direction ?? 'forward';
    if (direction !== 'forward' && direction !== 'backward') throw new FactumError('INVALID_ARGUMENT', `direction must be 'forward' or 'backward'`);
    const pageSize = options.pageSize ?? DEFAULT_PAGE;
    let remaining = options.limit ?? Number.MAX_SAFE_INTEGER;
    const forward = direction === 'forward';
    let from = options.fromVersion ?? (forward ? 1 : Number.MAX_SAFE_INTEGER);
    const to = options.toVersion ?? (forward ? Number.MAX_SAFE_INTEGER : 1);
    // Where a read ran short, versions below may be archived (see passesArchive).
    const unbounded = options.asOf === undefined && (forward ? to === Number.MAX_SAFE_INTEGER : from === Number.MAX_SAFE_INTEGER);
    let firstPage = true;
    while (remaining > 0 && (forward ? from <= to : from >= to)) {
      const want = Math.min(pageSize, remaining);
      const page = await this.readStreamPage(streamId, {
        direction,
        fromVersion: from,
        toVersion: to,
        limit: want,
        ...(options.asOf ? { asOf: options.asOf } : {}),
      }, on);
      const last = page[page.length - 1];
      if (forward && firstPage && (last ? page[0]!.streamVersion > from : !unbounded)) {
        await this.refuseArchivedRange(streamId, from, last ? page[0]!.streamVersion - 1 : to, page[0]?.streamVersion, on, known);
      }
      if (!forward && page.length < want && (last ? last.streamVersion > to : !(unbounded && firstPage))) {
        await this.refuseArchivedRange(streamId, to, last ? last.streamVersion - 1 : from, last?.streamVersion, on, known);
      }
      firstPage = false;
      if (page.length) yield page;
      remaining -= page.length;
      if (!last || page.length < want) return;
      from = forward ? last.streamVersion + 1 : last.streamVersion - 1;
    }
  }

  /**
   * A read found nothing in versions `low..high` of the stream. If some of them are archived and
   * would otherwise be visible (the stream's metadata does not hide them), the read fails with
   * `EVENTS_ARCHIVED` rather than return a history with its beginning missing.
   *
   * Asked only where a read ran short, so that whole reads cost nothing extra: the first event
   * came after the first version asked for, a backward read stopped above the lowest, or a
   * bounded or temporal read found nothing. An unbounded read that finds nothing at all needs no
   * check: the archiver always leaves a stream's last event in the log, so such a stream has no
   * archived events (or hides all it has). `lowestFound`: the lowest version the read did find.
   */
  private async refuseArchivedRange(streamId: string, low: number, high: number, lowestFound: number | undefined, on: SqlQueryable | undefined, known?: StreamInfo): Promise<void> {
    // loadStream read the info just before: no second round trip for it.
    const info = known ?? (await this.streamInfoImpl(streamId, on));
    if (info.archivedBefore === undefined) return;
    // Under max age, a live event at archivedBefore that the read skipped was too old, and the
    // archived ones are older still: hidden anyway.
    if (info.metadata.maxAgeSeconds !== undefined && lowestFound !== undefined && lowestFound > info.archivedBefore) return;
    const from = Math.max(low, firstVisibleVersion(info.metadata, info.version));
    const to = Math.min(high, info.archivedBefore - 1);
    if (from > to) return;
    throw new FactumError(
      'EVENTS_ARCHIVED',
      `Stream "${streamId}": versions ${from} to ${to} were archived and are not in the live log; read from version ${info.archivedBefore}, or restore the archive`,
      { details: { streamId, archivedBefore: info.archivedBefore, fromVersion: from, toVersion: to } },
    );
  }

  loadStream(streamId: string, options: ReadStreamOptions = {}): Promise<{ events: RecordedEvent[]; info: StreamInfo }> {
    return this.loadStreamOn(streamId, options, undefined);
  }

  private async loadStreamOn(streamId: string, options: ReadStreamOptions, on: SqlQueryable | undefined): Promise<{ events: RecordedEvent[]; info: StreamInfo }> {
    const info = await this.streamInfoOn(streamId, on);
    // Read up to the version just seen: the events then agree with `info`, and a stream that
    // fills its last page needs no extra round trip to find out that nothing follows.
    const forward = (options.direction ?? 'forward') === 'forward';
    const bounded = forward ? { toVersion: Math.min(options.toVersion ?? info.version, info.version) } : { fromVersion: Math.min(options.fromVersion ?? info.version, info.version) };
    // Whole pages, not event by event: an async iteration per event cost about 5% of a load.
    let events: RecordedEvent[] = [];
    for await (const page of this.streamPages(streamId, { ...options, ...bounded }, on, info)) events = events.length ? events.concat(page) : page;
    return { events, info };
  }

  async readAllPage(options: ReadAllPageOptions = {}): Promise<AllPage> {
    this.assertOpen();
    const after = options.after ?? 0n;
    if (typeof after !== 'bigint' || after < 0n) throw new FactumError('INVALID_ARGUMENT', 'after must be a bigint >= 0n');
    validatePositiveInt('limit', options.limit);
    return this.readAllPageImpl(after, options.limit ?? DEFAULT_PAGE, options);
  }

  readAll(options: ReadAllOptions = {}): AsyncIterableIterator<RecordedEvent> {
    let remaining = 0;
    let after = 0n;
    let head: bigint | undefined;
    let stalled = false;
    return pagedIterator(async () => {
      if (head === undefined) {
        this.assertOpen();
        validatePositiveInt('limit', options.limit, true);
        remaining = options.limit ?? Number.MAX_SAFE_INTEGER;
        after = options.after ?? 0n;
        head = await this.headPosition();
      }
      if (stalled || remaining <= 0 || after >= head) return undefined;
      const page = await this.readAllPage({ ...options, after, limit: Math.min(options.pageSize ?? DEFAULT_PAGE, remaining) });
      remaining -= page.events.length;
      // No progress means an open transaction holds the next position: stop here rather than skip it.
      stalled = page.position === after;
      after = page.position;
      return page.events;
    });
  }

  async headPosition(): Promise<bigint> {
    this.assertOpen();
    return this.headPositionImpl();
  }

  streamInfo(streamId: string): Promise<StreamInfo> {
    return this.streamInfoOn(streamId, undefined);
  }

  private async streamInfoOn(streamId: string, on: SqlQueryable | undefined): Promise<StreamInfo> {
    this.assertOpen();
    validateStreamId(streamId);
    return this.streamInfoImpl(streamId, on);
  }

  /** The stream reads of this store on `on`, a session in a transaction (see session-reads.ts). */
  [SESSION_READS](on: SqlQueryable): StreamReads {
    return {
      readStream: (streamId, options = {}) => this.readStreamOn(streamId, options, on),
      loadStream: (streamId, options = {}) => this.loadStreamOn(streamId, options, on),
      streamInfo: (streamId) => this.streamInfoOn(streamId, on),
    };
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    validateStreamId(streamId);
    if (typeof metadata !== 'object' || metadata === null) throw new FactumError('INVALID_ARGUMENT', 'metadata must be an object');
    validatePositiveInt('maxCount', metadata.maxCount, true);
    validatePositiveInt('maxAgeSeconds', metadata.maxAgeSeconds, true);
    validatePositiveInt('truncateBefore', metadata.truncateBefore, true);
    const clean: StreamMetadata = {};
    if (metadata.maxCount !== undefined) clean.maxCount = metadata.maxCount;
    if (metadata.maxAgeSeconds !== undefined) clean.maxAgeSeconds = metadata.maxAgeSeconds;
    if (metadata.truncateBefore !== undefined) clean.truncateBefore = metadata.truncateBefore;
    if (metadata.custom !== undefined) clean.custom = metadata.custom;
    return this.setStreamMetadataImpl(streamId, clean);
  }

  async deleteStream(streamId: string, options: DeleteStreamOptions = {}): Promise<void> {
    this.assertOpen();
    validateStreamId(streamId);
    const expected = options.expectedVersion === undefined ? 'any' : options.expectedVersion;
    validateExpectedVersion(expected);
    return this.deleteStreamImpl(streamId, expected, false);
  }

  async tombstoneStream(streamId: string, options: DeleteStreamOptions = {}): Promise<void> {
    this.assertOpen();
    validateStreamId(streamId);
    const expected = options.expectedVersion === undefined ? 'any' : options.expectedVersion;
    validateExpectedVersion(expected);
    return this.deleteStreamImpl(streamId, expected, true);
  }

  async listStreams(options: ListStreamsOptions = {}): Promise<StreamInfo[]> {
    this.assertOpen();
    validatePositiveInt('limit', options.limit);
    return this.listStreamsImpl({ ...options, limit: options.limit ?? DEFAULT_PAGE });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeImpl();
  }
}
