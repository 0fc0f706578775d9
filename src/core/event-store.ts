import type { AppendResult, EventShape, ExpectedVersion, NewEvent, NewOf, RecordedOf } from './message.js';
import type { SqlQueryable } from './sql-queryable.js';
import type { StoreCapabilities } from './store-capabilities.js';

/** Options of `append`. */
export interface AppendOptions {
  /** Defaults to `'any'`. */
  expectedVersion?: ExpectedVersion;
}

/** Options of `readStream`. Versions are inclusive. */
export interface ReadStreamOptions {
  direction?: 'forward' | 'backward';
  /** First version to return (forward: lowest, backward: highest). */
  fromVersion?: number;
  /** Last version to return (forward: highest, backward: lowest). */
  toVersion?: number;
  /** At most this many events. */
  limit?: number;
  /** Temporal query: only events recorded at or before this time. */
  asOf?: Date;
  /** Rows fetched per round trip while iterating; 1,000 by default. */
  pageSize?: number;
}

/** Filter of `$all` reads. An empty or absent list means "all". */
export interface AllFilter {
  /** Event types to keep. */
  types?: string[];
  /** Stream categories to keep (the part of the stream id before the first `-`). */
  categories?: string[];
}

/** Options of `readAllPage`. */
export interface ReadAllPageOptions extends AllFilter {
  /** Exclusive: read events after this position. 0n (the default) reads from the start. */
  after?: bigint;
  /** At most this many events; 1,000 by default. */
  limit?: number;
}

/** One gap-safe page of `$all`. */
export interface AllPage<E extends EventShape = NewEvent> {
  events: RecordedOf<E>[];
  /**
   * Resume point: every position up to here has been read (or was proven empty), filter included.
   * Pass it as `after` to the next call. It can pass the last event when filtered-out or
   * rolled-back positions follow it.
   */
  position: bigint;
  /** Highest position handed out so far (it may not be committed yet). */
  headPosition: bigint;
  /**
   * Set when reading stopped before the head because a transaction that may still commit a
   * lower position is open: the reader waits, it never skips. This is lag, not an error.
   */
  waitingOn?: { position: bigint; since?: Date; pids: number[] };
}

/** Options of `readAll` (async iteration over `$all`, up to the safe head at call time). */
export interface ReadAllOptions extends AllFilter {
  after?: bigint;
  /** Stop after this many events. */
  limit?: number;
  /** Rows per round trip; 1,000 by default. */
  pageSize?: number;
}

/** Limits applied to reads of one stream; `$all` still holds the events. */
export interface StreamMetadata {
  /** Keep only the latest N events visible. */
  maxCount?: number;
  /** Keep only events younger than this many seconds visible. */
  maxAgeSeconds?: number;
  /** Hide events with a version lower than this. */
  truncateBefore?: number;
  /** Anything else the application wants to keep on the stream. */
  custom?: Record<string, unknown>;
}

/** What the store knows about one stream. */
export interface StreamInfo {
  streamId: string;
  /** Version of the last event ever appended (0 if none). Survives soft deletion. */
  version: number;
  /** False when never written, soft-deleted or tombstoned. */
  exists: boolean;
  softDeleted: boolean;
  tombstoned: boolean;
  metadata: StreamMetadata;
  /**
   * Set when an archiver (`archiveEvents`) moved the stream's oldest events out of the live
   * log: the first version still in it. Reads that reach below it fail with `EVENTS_ARCHIVED`.
   */
  archivedBefore?: number;
}

/** Options of `listStreams`. */
export interface ListStreamsOptions {
  category?: string;
  /** Exclusive: stream ids after this one (they are listed in id order). */
  after?: string;
  limit?: number;
  /** Include soft-deleted and tombstoned streams. */
  includeDeleted?: boolean;
}

/** Options of `deleteStream`. */
export interface DeleteStreamOptions {
  expectedVersion?: ExpectedVersion;
}

/**
 * What the callback of `store.transaction` works with: appends and, on SQL stores, your own
 * statements, all in one transaction that commits together or not at all.
 *
 * @example
 * await store.transaction(async (tx) => {
 *   await tx.sql.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 'a-1'])
 *   await tx.append('account-a-1', [{ type: 'Withdrawn', data: { amount: 10 } }], { expectedVersion: 3 })
 * })
 */
export interface EventStoreTransaction<E extends EventShape = NewEvent> {
  /**
   * Appends inside the transaction, by every rule of `store.append`. Its events become visible
   * (and `$all` readers pass them) only when the transaction commits. An append that fails
   * fails the transaction: it rolls back, even if the callback catches the error.
   */
  append(streamId: string, events: NewOf<E>[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * The transaction's SQL session, for your own rows. A statement that fails fails the
   * transaction. The memory store has none: reading it throws `SQL_UNAVAILABLE`.
   */
  readonly sql: SqlQueryable;
}

/**
 * The event store port. Every implementation (memory, PGlite, PostgreSQL) passes the same
 * conformance suite, so code written against this interface runs on all of them. `E`, the
 * event union, types appends and reads (`registry.wrap(store)` gives its registered events);
 * a store of one union still fits where `EventStore` is expected.
 *
 * @example
 * const store = await openEventStore('memory:')
 * await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * for await (const event of store.readStream('order-1')) console.log(event.type)
 */
export interface EventStore<E extends EventShape = NewEvent> {
  /** Which implementation this is: `'memory'`, `'pglite'` or `'postgres'`. */
  readonly kind: string;

  /**
   * What this store can do beyond the port (SQL transactions, concurrent sessions, LISTEN, ...).
   * Read it through `storeCapabilities(store)`, which answers for stores that declare nothing.
   */
  readonly capabilities?: StoreCapabilities;

  /** Appends atomically: all events or none. */
  append(streamId: string, events: NewOf<E>[], options?: AppendOptions): Promise<AppendResult>;

  /** Iterates a stream page by page; a long stream never sits in memory. */
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedOf<E>>;

  /** Reads a whole stream (or a range) into an array, with its info. */
  loadStream(streamId: string, options?: ReadStreamOptions): Promise<{ events: RecordedOf<E>[]; info: StreamInfo }>;

  /** One gap-safe page of `$all`. The primitive under subscriptions. */
  readAllPage(options?: ReadAllPageOptions): Promise<AllPage<E>>;

  /** Iterates `$all` in position order up to the safe head at the time of the call. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedOf<E>>;

  /** Highest global position handed out so far (0n when empty). */
  headPosition(): Promise<bigint>;

  streamInfo(streamId: string): Promise<StreamInfo>;

  /** Replaces the stream's metadata (limits on what stream reads return). */
  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void>;

  /** Soft delete: reads return nothing, the stream can be written again (versions continue). */
  deleteStream(streamId: string, options?: DeleteStreamOptions): Promise<void>;

  /** Hard delete: the events are removed and the stream can never be written again. */
  tombstoneStream(streamId: string, options?: DeleteStreamOptions): Promise<void>;

  /** Stream ids in id order, optionally of one category. */
  listStreams(options?: ListStreamsOptions): Promise<StreamInfo[]>;

  /**
   * Runs `fn` in one transaction: its appends (`tx.append`) and, on SQL stores, its statements
   * (`tx.sql`) commit together when it returns, or not at all when it throws. Resolves to what
   * `fn` returned. Inside `fn`, calls on the store itself (and nested transactions) throw
   * `TRANSACTION_IN_PROGRESS`: they would run outside the transaction, or wait behind it.
   */
  transaction<T>(fn: (tx: EventStoreTransaction<E>) => Promise<T>): Promise<T>;

  /**
   * Calls `listener` after every append made through this store object commits (a transaction's
   * appends once it commits), with the append's result. The in-process wake-up: appends of
   * other processes are not seen here (subscriptions hear those by LISTEN or polling). Returns
   * the function that removes the listener. A listener must not throw; it runs on the
   * appender's path, so keep it short.
   *
   * @example
   * const off = store.onAppended((result) => console.log('appended up to', result.lastPosition))
   * off()
   */
  onAppended(listener: (result: AppendResult) => void): () => void;

  /** Releases connections (PostgreSQL) or the database files (PGlite). Later calls fail with STORE_CLOSED. */
  close(): Promise<void>;
}
