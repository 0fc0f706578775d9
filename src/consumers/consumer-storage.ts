import type { EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { sqlAccess } from '../store/sql-access.js';
import { ServiceKey, storeServices } from '../store/store-services.js';
import { MemoryConsumerStorage } from './memory-consumer-storage.js';
import { SqlConsumerStorage } from './sql-consumer-storage.js';

/** A stored checkpoint: how far a subscription has handled `$all` (or a stream's versions). */
export interface Checkpoint {
  position: bigint;
  /** Changes only when a rebuild swaps the read model in (see src/projections/rebuild.ts). */
  generation: number;
}

/** What a dead letter's status says: see `DeadLetter.status`. */
export type DeadLetterStatus = 'dead' | 'retrying' | 'parked';

/** A dead-lettered event, one being retried, or one parked behind either of them in its stream. */
export interface DeadLetter {
  id: string;
  subscription: string;
  /**
   * `'dead'`: failed every retry (or could not be upcast), waits for `retryDeadLetter` or
   * `skipDeadLetter`. `'retrying'`: failed, its retries are under way. `'parked'`: held back, in
   * order, behind a dead or retrying event of its stream.
   */
  status: DeadLetterStatus;
  streamId: string;
  globalPosition: bigint;
  event: RecordedEvent;
  /** The last error's message (failed events only). */
  error?: string;
  /** The last error's `code`, when it had one (a `FactumError`'s, a driver's). */
  errorCode?: string;
  /** The last error's stack, when it had one. */
  errorStack?: string;
  /** Failed attempts so far (0 for a parked event). */
  attempts: number;
  firstFailedAt?: Date;
  lastFailedAt?: Date;
}

/** What a failed event carries to the dead-letter store. */
export interface Failure {
  /** The error's message. */
  error: string;
  code?: string;
  stack?: string;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
}

/**
 * Writes made together: on SQL stores one database transaction (the handler's own writes go
 * through `sql`), on the memory store a batch applied at the end only if every check passed.
 */
export interface ConsumerTx {
  /** The transaction, on SQL stores. */
  readonly sql?: SqlQueryable;
  /**
   * Compare-and-set: moves `name` from `expected` (undefined: no checkpoint yet) to `position`.
   * Returns the stored row when another writer got there first (nothing is written then).
   */
  saveCheckpoint(name: string, expected: Checkpoint | undefined, position: bigint, options?: { relaxedDurability?: boolean }): Promise<Checkpoint | undefined>;
  /** Records (consumer, message id); false when it was recorded before (a redelivery). */
  recordInbox(consumer: string, messageId: string): Promise<boolean>;
  /** `recordInbox` for many messages in one statement: the ids recorded now (the others were seen before). */
  recordInboxes(consumer: string, messageIds: string[]): Promise<Set<string>>;
  /**
   * One statement for a batch of broker messages: which of their keys have a dead-letter row for
   * `subscription` (`held`), and the inbox rows of the messages of the other keys (`recorded`: the
   * ids written now; the others were seen before).
   */
  admitMessages(subscription: string, consumer: string, messages: Array<{ id: string; key: string }>): Promise<{ held: Set<string>; recorded: Set<string> }>;
  /** Undoes `recordInbox` in this transaction (its handler failed outside any savepoint, see `LazySavepoint`). */
  forgetInbox(consumer: string, messageId: string): Promise<void>;
  addDeadLetter(subscription: string, status: DeadLetterStatus, event: RecordedEvent, failure?: Failure): Promise<void>;
  updateDeadLetter(id: string, change: { status?: 'dead' | 'retrying'; failure?: Failure }): Promise<void>;
  deleteDeadLetter(id: string): Promise<void>;
  /**
   * Holds `keys` of `scope` until this transaction ends, so that two transactions about one key
   * (a broker consumer parking a message, a drain in another process) run one after the other:
   * `pg_advisory_xact_lock` on SQL stores, a mutex per key on the memory store.
   */
  lockKeys(scope: string, keys: string[]): Promise<void>;
  /** Which of `keys` (stream ids) have a dead-letter row for `subscription`: one query for them all. */
  heldKeys(subscription: string, keys: string[]): Promise<Set<string>>;
}

/** Lease state of one partition. */
export interface PartitionLease {
  partition: number;
  owner: string | null;
}

/** The storage behind consumers: SQL tables beside the log, or maps for the memory store. */
export interface ConsumerStorage {
  transaction<T>(fn: (tx: ConsumerTx) => Promise<T>): Promise<T>;
  readCheckpoint(name: string): Promise<Checkpoint | undefined>;
  listDeadLetters(subscription: string, options?: { streamId?: string; status?: DeadLetterStatus }): Promise<DeadLetter[]>;
  /** Streams that have a dead letter (or parked events) for this subscription. */
  blockedStreams(subscription: string): Promise<string[]>;
  hasInbox(consumer: string, messageId: string): Promise<boolean>;
  /** Partition coordination; only SQL stores share it across processes. */
  leases?: LeaseStorage;
}

/** Leases of partitions, coordinated through the database. */
export interface LeaseStorage {
  /** Creates the lease rows if missing and records this owner as alive until now + ttl. */
  heartbeat(subscription: string, owner: string, partitions: number, ttlMs: number): Promise<{ members: number }>;
  /** Extends this owner's unexpired leases; returns the partitions it still holds. */
  renew(subscription: string, owner: string, ttlMs: number): Promise<number[]>;
  /** Takes up to `count` free or expired partitions. */
  claim(subscription: string, owner: string, count: number, ttlMs: number): Promise<number[]>;
  release(subscription: string, owner: string, partitions: number[]): Promise<void>;
  /** Drops the member row (clean shutdown). */
  leave(subscription: string, owner: string): Promise<void>;
}

const MEMORY_CONSUMER_STORAGE = new ServiceKey<MemoryConsumerStorage>('consumers.memoryStorage');

/**
 * The consumer storage of a store: its own tables on a SQL store, otherwise one in memory per
 * store (shared by its subscriptions and every registry wrapper around it, through `storeServices`).
 */
export function consumerStorageFor(store: EventStore): ConsumerStorage {
  const sql = sqlAccess(store);
  if (sql) return new SqlConsumerStorage(sql.client, sql.names);
  return storeServices(store).get(MEMORY_CONSUMER_STORAGE, () => new MemoryConsumerStorage());
}
