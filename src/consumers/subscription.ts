import { FactumError, isCheckpointConflict } from '../core/errors.js';
import type { AllFilter, EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import type { SqlQueryable } from '../store/sql/sql-client.js';
import { AppendSignal } from './append-signal.js';
import { consumerStorageFor, type Checkpoint, type ConsumerStorage, type ConsumerTx, type DeadLetter } from './consumer-storage.js';
import { MemoryConsumerStorage } from './memory-consumer-storage.js';
import { Mutex, Sleeper } from './mutex.js';
import { partitionOf } from './partition-of.js';
import { retryDelays, type RetryPolicy } from './retry-policy.js';

/** What a handler gets beside the event. */
export interface HandlerContext {
  /**
   * On SQL stores, the transaction that will also save the checkpoint (and the inbox row):
   * write the read model through it and the two can never disagree, even after a crash.
   * On PGlite (one session) every query of the handler must go through it: a query on the store
   * itself (an append, a read) would wait behind this very transaction.
   */
  sql?: SqlQueryable;
  /** The subscription's name. */
  subscription: string;
  /** 1 for the first delivery, then 2, 3, ... on retries. */
  attempt: number;
}

/** Handles one event. Throwing means "failed": the retry policy, then the dead-letter store, take over. */
export type EventHandler = (event: RecordedEvent, context: HandlerContext) => Promise<void> | void;

/** Options of `Subscription`. */
export interface SubscriptionOptions {
  /** Names the checkpoint, the dead letters and the inbox rows; stable across restarts. */
  name: string;
  handler: EventHandler;
  /** Subscribe to `$all`, keeping only these types or categories. */
  filter?: AllFilter;
  /** Subscribe to one stream instead of `$all` (the checkpoint is then a stream version). */
  stream?: string;
  /**
   * Where to begin when no checkpoint is stored: `'start'` (default), `'end'` (after the head at
   * the first start: an append still in flight at that moment is treated as before it), or after
   * a position. The choice is stored as the first checkpoint, so a restart does not re-decide it.
   */
  from?: 'start' | 'end' | { after: bigint };
  /** Events per read and per transaction; 100 by default. */
  batchSize?: number;
  retry?: RetryPolicy;
  /** Record (event id, subscription) in the handler's transaction and skip events seen before. */
  inbox?: boolean;
  /** Fallback polling when no wake-up arrives; 1,000 ms by default. */
  pollIntervalMs?: number;
  /** Only events of streams in this partition (see `PartitionedSubscription`). */
  partition?: { index: number; count: number };
  /** Called for errors that do not stop the subscription (a failed read, a failed attempt). */
  onError?: (error: unknown, event?: RecordedEvent) => void;
  /**
   * SQL stores: commit without waiting for the WAL flush (`synchronous_commit = off`). Safe for
   * derived data such as read models: a server crash can lose the last few milliseconds of
   * commits, but the read model and its checkpoint are lost together and replayed from the log.
   * Leave it off when the handler's effects reach outside the database. False by default.
   */
  relaxedDurability?: boolean;
  /**
   * True (the default): the handler runs inside the transaction that saves the checkpoint (its
   * `sql`). False: the handler runs outside any transaction and the checkpoint is saved after it,
   * for handlers whose effects are elsewhere (a broker, an HTTP call, appends to the store on
   * PGlite): delivery is then at-least-once, so make the effect idempotent (an `Inbox`, event ids).
   * The `inbox` option needs the transaction and is ignored here.
   */
  transactional?: boolean;
  /** @internal name of the checkpoint when it differs from `name` (partitions, rebuilds). */
  checkpointName?: string;
}

/** Where a subscription stands. */
export interface SubscriptionStatus {
  name: string;
  state: 'starting' | 'running' | 'stopped' | 'failed';
  /** Everything up to here is handled (a global position, or a version for a stream subscription). */
  position: bigint;
  /** The head of the log (or the stream's version) at the last read. */
  headPosition: bigint;
  /** Positions between the checkpoint and the head: an upper bound on events still to handle. */
  lagEvents: bigint;
  /** How long the oldest event not yet handled has been waiting, in seconds (0 when caught up). */
  lagSeconds: number;
  caughtUp: boolean;
  /** Set while an open append transaction holds the read back (lag, not an error). */
  waitingOn?: { position: bigint; since?: Date };
  /** Why it failed (state `'failed'`). */
  error?: unknown;
}

/** What `retryDeadLetter` and `skipDeadLetter` did. */
export interface DrainResult {
  /** Events handled now (the dead letter, then the parked ones in order). */
  handled: number;
  /** Letters of the stream still held (a parked event failed again and is now the dead letter). */
  remaining: number;
}

/** A handler threw at events[index]; carried out of the rolled-back transaction. */
class BatchFailure {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {}
}
class GenerationChanged extends Error {}

/**
 * A catch-up subscription: from a stored checkpoint (or the start, or the end) it reads the
 * log in gap-safe pages, handles each event, and stores the checkpoint in the same transaction
 * as the handler's writes; once it has caught up it stays live, woken at once by appends (LISTEN/
 * NOTIFY on PostgreSQL, in-process elsewhere) with polling as the fallback. The catch-up and the
 * live phase are the same loop over the same primitive, so the switch has no gap and no duplicate.
 *
 * Failures follow the retry policy; after the last retry the event is dead-lettered, and later
 * events of its stream are parked behind it in order while every other stream keeps flowing.
 * The checkpoint is written with compare-and-set: a second instance of the same subscription
 * loses, learns it (`CHECKPOINT_CONFLICT`) and stops, with its transaction rolled back.
 *
 * @example
 * const sub = new Subscription(store, {
 *   name: 'order-emails',
 *   filter: { types: ['OrderPlaced'] },
 *   handler: async (event) => sendEmail(event.data),
 * })
 * await sub.start()
 * console.log(sub.status().lagEvents)
 * await sub.stop()
 */
export class Subscription {
  readonly name: string;
  private readonly storage: ConsumerStorage;
  private readonly checkpointName: string;
  private readonly lock = new Mutex();
  private readonly sleeper = new Sleeper();
  private readonly careful: boolean;
  private checkpoint?: Checkpoint;
  private position = 0n;
  private head = 0n;
  private pendingSince?: Date;
  private waitingOn?: { position: bigint; since?: Date };
  private state: SubscriptionStatus['state'] = 'starting';
  private failure?: unknown;
  private blocked = new Set<string>();
  private stopping = false;
  private loop?: Promise<void>;
  private offSignal?: () => Promise<void>;
  private waiters = new Set<() => void>();

  constructor(
    readonly store: EventStore,
    private readonly options: SubscriptionOptions,
  ) {
    if (!options.name) throw new FactumError('INVALID_ARGUMENT', 'A subscription needs a name');
    if (options.stream && (options.filter?.types?.length || options.filter?.categories?.length)) {
      throw new FactumError('INVALID_ARGUMENT', 'A stream subscription takes no $all filter');
    }
    this.name = options.name;
    this.checkpointName = options.checkpointName ?? options.name;
    this.storage = consumerStorageFor(store);
    // In memory a handler's effects cannot be rolled back, so a batch must never be replayed.
    this.careful = this.storage instanceof MemoryConsumerStorage;
  }

  /** Loads the checkpoint and starts the loop; resolves once running. */
  async start(): Promise<this> {
    if (this.loop) return this;
    this.checkpoint = await this.storage.readCheckpoint(this.checkpointName);
    if (!this.checkpoint) {
      const from = this.options.from ?? 'start';
      const initial = from === 'start' ? 0n : from === 'end' ? await this.currentHead() : from.after;
      // Stored now, so a restart before the first event still begins where this start did.
      try {
        await this.commit(async () => initial);
      } catch (error) {
        // Another instance created it at the same moment: start from theirs.
        if (!isCheckpointConflict(error)) throw error;
        this.checkpoint = await this.storage.readCheckpoint(this.checkpointName);
      }
    }
    await this.loadBlocked();
    this.position = this.checkpoint!.position;
    this.head = this.position;
    this.offSignal = await AppendSignal.of(this.store).subscribe(() => this.sleeper.wake());
    this.state = 'running';
    this.loop = this.run();
    return this;
  }

  /**
   * Stops after the batch in hand (its transaction commits or rolls back whole). Stop every
   * subscription before closing its store: the last one to stop gives back the LISTEN connection.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    await this.loop;
    await this.offSignal?.();
    this.offSignal = undefined;
    if (this.state !== 'failed') this.state = 'stopped';
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves when the loop ends (after `stop()`, or a failure such as a lost checkpoint race). */
  async done(): Promise<void> {
    await this.loop;
  }

  status(): SubscriptionStatus {
    const lag = this.head > this.position ? this.head - this.position : 0n;
    const since = this.waitingOn?.since ?? this.pendingSince;
    return {
      name: this.name,
      state: this.state,
      position: this.position,
      headPosition: this.head,
      lagEvents: lag,
      lagSeconds: lag > 0n && since ? Math.max(0, (Date.now() - since.getTime()) / 1000) : 0,
      caughtUp: lag === 0n,
      ...(this.waitingOn ? { waitingOn: this.waitingOn } : {}),
      ...(this.failure !== undefined ? { error: this.failure } : {}),
    };
  }

  /** Lag measured now against the store (not the last read): events and seconds behind the head. */
  async lag(): Promise<{ events: bigint; seconds: number; position: bigint; headPosition: bigint }> {
    const head = await this.currentHead();
    const position = this.position;
    if (head <= position) return { events: 0n, seconds: 0, position, headPosition: head };
    const next = await this.readNext(position);
    const seconds = next ? Math.max(0, (Date.now() - next.recordedAt.getTime()) / 1000) : 0;
    return { events: head - position, seconds, position, headPosition: head };
  }

  /**
   * Resolves once everything up to `position` is handled (read-your-writes: pass the
   * `lastPosition` of your append). Rejects with `WAIT_TIMEOUT` after `timeoutMs` (5 s by default).
   */
  waitFor(position: bigint, options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.position >= position) return Promise.resolve();
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.position >= position) finish();
        else if (this.state === 'stopped' || this.state === 'failed') finish(new FactumError('WAIT_TIMEOUT', `Subscription "${this.name}" ${this.state} before reaching position ${position}`, { details: { position: position.toString() } }));
      };
      const timer = setTimeout(() => finish(new FactumError('WAIT_TIMEOUT', `Subscription "${this.name}" did not reach position ${position} within ${timeoutMs} ms`, { details: { position: position.toString(), reached: this.position.toString(), timeoutMs } })), timeoutMs);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Dead letters and parked events of this subscription, in log order. */
  deadLetters(options: { streamId?: string; status?: 'dead' | 'parked' } = {}): Promise<DeadLetter[]> {
    return this.storage.listDeadLetters(this.deadLetterName(), options);
  }

  /**
   * Handles the dead letter again, then the events parked behind it, in order. If one fails,
   * it becomes (or stays) the dead letter and the rest stay parked.
   */
  retryDeadLetter(id: string): Promise<DrainResult> {
    return this.lock.run(() => this.drain(id, false));
  }

  /** Drops the dead letter unhandled, then handles the events parked behind it, in order. */
  skipDeadLetter(id: string): Promise<DrainResult> {
    return this.lock.run(() => this.drain(id, true));
  }

  // ---------------------------------------------------------------------------------------

  private deadLetterName(): string {
    return this.name;
  }

  private positionOf(event: RecordedEvent): bigint {
    return this.options.stream ? BigInt(event.streamVersion) : event.globalPosition;
  }

  private async currentHead(): Promise<bigint> {
    if (this.options.stream) return BigInt((await this.store.streamInfo(this.options.stream)).version);
    return this.store.headPosition();
  }

  private async readNext(after: bigint): Promise<RecordedEvent | undefined> {
    if (this.options.stream) {
      for await (const event of this.store.readStream(this.options.stream, { fromVersion: Number(after) + 1, limit: 1 })) return event;
      return undefined;
    }
    return (await this.store.readAllPage({ ...this.options.filter, after, limit: 1 })).events[0];
  }

  private inPartition(event: RecordedEvent): boolean {
    const p = this.options.partition;
    return !p || partitionOf(event.streamId, p.count) === p.index;
  }

  private async loadBlocked(): Promise<void> {
    const streams = await this.storage.blockedStreams(this.deadLetterName());
    const p = this.options.partition;
    this.blocked = new Set(p ? streams.filter((s) => partitionOf(s, p.count) === p.index) : streams);
  }

  /** One page: events after the checkpoint, the new resume point, and the head. */
  private async readPage(): Promise<{ events: RecordedEvent[]; position: bigint; head: bigint; waitingOn?: { position: bigint; since?: Date } }> {
    const limit = this.options.batchSize ?? 100;
    if (this.options.stream) {
      const events: RecordedEvent[] = [];
      const head = await this.currentHead();
      // Versions of one stream commit in order (the stream row is locked by each append): no holes to wait on.
      for await (const event of this.store.readStream(this.options.stream, { fromVersion: Number(this.position) + 1, limit })) events.push(event);
      const last = events[events.length - 1];
      return { events, position: last ? BigInt(last.streamVersion) : this.position, head };
    }
    const page = await this.store.readAllPage({ ...this.options.filter, after: this.position, limit });
    return {
      events: page.events.filter((e) => this.inPartition(e)),
      position: page.position,
      head: page.headPosition,
      ...(page.waitingOn ? { waitingOn: { position: page.waitingOn.position, ...(page.waitingOn.since ? { since: page.waitingOn.since } : {}) } } : {}),
    };
  }

  private async run(): Promise<void> {
    let idleDelay = 5;
    let readFailures = 0;
    const pollMs = this.options.pollIntervalMs ?? 1000;
    while (!this.stopping) {
      this.sleeper.clear();
      let page: Awaited<ReturnType<Subscription['readPage']>>;
      try {
        page = await this.readPage();
        readFailures = 0;
      } catch (error) {
        // A dropped connection or a restarting database: report, back off, try again.
        this.options.onError?.(error);
        readFailures++;
        await this.sleeper.sleep(Math.min(pollMs, 50 * 2 ** readFailures));
        continue;
      }
      this.head = page.head > this.head ? page.head : this.head;
      this.waitingOn = page.waitingOn;
      this.pendingSince = page.events[0]?.recordedAt ?? (page.position < page.head ? this.pendingSince : undefined);
      if (page.events.length > 0 || page.position > this.position) {
        idleDelay = 5;
        try {
          await this.lock.run(() => this.process(page.events, page.position));
        } catch (error) {
          // Outside the rolled-back transaction: PGlite runs one statement at a time.
          if (error instanceof GenerationChanged) {
            await this.loadBlocked().catch((e: unknown) => this.options.onError?.(e));
            continue;
          }
          if (isCheckpointConflict(error) || this.stopping) {
            this.fail(error);
            return;
          }
          this.options.onError?.(error);
          await this.sleeper.sleep(Math.min(pollMs, 100));
        }
        continue;
      }
      // Caught up. A position below the head means appends are in flight (or a hole is not yet
      // proven final): look again soon. Otherwise sleep until an append wakes us, or poll.
      const busy = page.waitingOn !== undefined || page.position < page.head;
      await this.sleeper.sleep(busy ? idleDelay : pollMs);
      idleDelay = busy ? Math.min(idleDelay * 2, pollMs) : 5;
    }
  }

  private fail(error: unknown): void {
    this.state = 'failed';
    this.failure = error;
    this.stopping = true;
    for (const waiter of this.waiters) waiter();
  }

  private advanced(checkpoint: Checkpoint): void {
    this.checkpoint = checkpoint;
    if (checkpoint.position > this.position) this.position = checkpoint.position;
    if (this.position >= this.head) this.pendingSince = undefined;
    for (const waiter of this.waiters) waiter();
  }

  /** Compare-and-set of the checkpoint inside `tx`; throws when another instance moved it. */
  private async saveCheckpoint(tx: ConsumerTx, position: bigint): Promise<void> {
    const expected = this.checkpoint;
    const found = await tx.saveCheckpoint(this.checkpointName, expected, position, { relaxedDurability: this.options.relaxedDurability ?? false });
    if (!found) {
      const next = { position, generation: expected?.generation ?? 0 };
      // Applied to our state only when the transaction commits (see `commit`).
      this.staged = next;
      return;
    }
    if (expected && found.generation !== expected.generation && found.generation >= 0) {
      // A rebuild swapped the read model in: our batch is rolled back; reload and go on.
      this.checkpoint = found;
      this.position = found.position;
      throw new GenerationChanged();
    }
    if (!expected) {
      // Created meanwhile by a concurrent start: adopt it.
      this.staged = found;
      return;
    }
    throw new FactumError(
      'CHECKPOINT_CONFLICT',
      `Subscription "${this.name}": another instance moved the checkpoint "${this.checkpointName}" to ${found.position} (expected ${expected.position}); this one stops`,
      { details: { name: this.checkpointName, expected: expected.position.toString(), found: found.position.toString() } },
    );
  }

  private staged?: Checkpoint;

  /** Runs `fn` in a transaction that ends by saving the checkpoint; applies the new checkpoint after commit. */
  private async commit(fn: (tx: ConsumerTx) => Promise<bigint>): Promise<void> {
    this.staged = undefined;
    await this.storage.transaction(async (tx) => {
      const position = await fn(tx);
      await this.saveCheckpoint(tx, position);
    });
    if (this.staged) this.advanced(this.staged);
    this.staged = undefined;
  }

  private context(tx: ConsumerTx | undefined, attempt: number): HandlerContext {
    return { ...(tx?.sql ? { sql: tx.sql } : {}), subscription: this.name, attempt };
  }

  /** Runs the handler unless the inbox has seen the event; parks events of blocked streams. */
  private async handle(tx: ConsumerTx, event: RecordedEvent, attempt: number): Promise<void> {
    if (this.blocked.has(event.streamId)) {
      await tx.addDeadLetter(this.deadLetterName(), 'parked', event);
      return;
    }
    if (this.options.inbox && !(await tx.recordInbox(this.name, event.id))) return;
    await this.options.handler(event, this.context(tx, attempt));
  }

  /** Handles one page: batches in one transaction each, with the checkpoint. */
  private async process(events: RecordedEvent[], end: bigint): Promise<void> {
    if (this.options.transactional === false) return this.processOutside(events, end);
    let from = 0;
    for (;;) {
      const failedAt = await this.tryBatch(events, from, events.length, end);
      if (failedAt === undefined) return;
      await this.retryOrDeadLetter(events[failedAt.index]!, failedAt.error);
      // Stopped during the retries: the checkpoint stays before the event; a restart retries it.
      if (this.stopping) return;
      from = failedAt.index + 1;
    }
  }

  /**
   * Handles events[from..to) in one transaction and saves the checkpoint (`end` when all of
   * them pass). On a handler error, commits the events before it instead and returns the failure.
   */
  private async tryBatch(events: RecordedEvent[], from: number, to: number, end: bigint): Promise<BatchFailure | undefined> {
    let failure: BatchFailure | undefined;
    try {
      await this.commit(async (tx) => {
        for (let i = from; i < to; i++) {
          const event = events[i]!;
          if (this.careful) await tx.savepoint();
          try {
            await this.handle(tx, event, 1);
          } catch (error) {
            if (error instanceof GenerationChanged || isCheckpointConflict(error)) throw error;
            failure = new BatchFailure(i, error);
            // In memory nothing can be undone: commit what passed, up to just before the failure.
            if (this.careful) {
              await tx.rollbackToSavepoint();
              return this.positionOf(event) - 1n;
            }
            throw failure;
          }
        }
        return to === events.length ? end : this.positionOf(events[to]!) - 1n;
      });
      return failure;
    } catch (error) {
      if (!(error instanceof BatchFailure)) throw error;
      this.options.onError?.(error.error, events[error.index]);
      // The whole transaction rolled back: commit the events before the failing one alone.
      if (error.index > from) {
        const earlier = await this.tryBatch(events, from, error.index, end);
        if (earlier) return earlier;
      } else if (this.position < this.positionOf(events[error.index]!) - 1n) {
        await this.commit(async () => this.positionOf(events[error.index]!) - 1n);
      }
      return error;
    }
  }

  /**
   * Handlers outside transactions: each event handled, then the checkpoint saved up to it once
   * the page is done or before a failing event's retries (a crash in between repeats events,
   * never skips them). Parking still happens in a transaction, with the checkpoint.
   */
  private async processOutside(events: RecordedEvent[], end: bigint): Promise<void> {
    let done = this.position;
    const saveUpTo = async (position: bigint) => {
      if (position > this.position) await this.commit(async () => position);
    };
    for (const event of events) {
      if (this.stopping) return saveUpTo(done);
      if (this.blocked.has(event.streamId)) {
        await saveUpTo(done);
        await this.commit(async (tx) => {
          await tx.addDeadLetter(this.deadLetterName(), 'parked', event);
          return this.positionOf(event);
        });
      } else {
        try {
          await this.options.handler(event, this.context(undefined, 1));
        } catch (error) {
          this.options.onError?.(error, event);
          await saveUpTo(this.positionOf(event) - 1n);
          await this.retryOrDeadLetter(event, error);
          if (this.stopping) return;
        }
      }
      done = this.positionOf(event);
    }
    await saveUpTo(end);
  }

  /** Further attempts per the retry policy, each in its own transaction; then the dead letter. */
  private async retryOrDeadLetter(event: RecordedEvent, firstError: unknown): Promise<void> {
    const firstFailedAt = new Date();
    let lastError = firstError;
    let attempts = 1;
    for (const delay of retryDelays(this.options.retry)) {
      if (this.stopping) return;
      if (delay > 0) await this.sleepUnlessStopping(delay);
      if (this.stopping) return;
      attempts++;
      try {
        if (this.options.transactional === false) {
          await this.options.handler(event, this.context(undefined, attempts));
          await this.commit(async () => this.positionOf(event));
        } else {
          await this.commit(async (tx) => {
            await this.handle(tx, event, attempts);
            return this.positionOf(event);
          });
        }
        return;
      } catch (error) {
        if (error instanceof GenerationChanged || isCheckpointConflict(error)) throw error;
        lastError = error;
        this.options.onError?.(error, event);
      }
    }
    await this.commit(async (tx) => {
      await tx.addDeadLetter(this.deadLetterName(), 'dead', event, {
        error: errorMessage(lastError),
        attempts,
        firstFailedAt,
        lastFailedAt: new Date(),
      });
      return this.positionOf(event);
    });
    this.blocked.add(event.streamId);
  }

  private async sleepUnlessStopping(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && Date.now() < until) await this.sleeper.sleep(until - Date.now());
  }

  /** Retry or skip a dead letter, then the events parked behind it, in order. */
  private async drain(id: string, skip: boolean): Promise<DrainResult> {
    const all = await this.storage.listDeadLetters(this.deadLetterName());
    const target = all.find((d) => d.id === id && d.status === 'dead');
    if (!target) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter "${id}" for subscription "${this.name}"`, { details: { id } });
    const letters = all.filter((d) => d.streamId === target.streamId);
    let handled = 0;
    for (const [i, letter] of letters.entries()) {
      try {
        const handleIt = !(skip && letter.id === target.id);
        if (handleIt && this.options.transactional === false) await this.options.handler(letter.event, this.context(undefined, letter.attempts + 1));
        await this.storage.transaction(async (tx) => {
          if (handleIt && this.options.transactional !== false) {
            if (!(this.options.inbox && !(await tx.recordInbox(this.name, letter.event.id)))) {
              await this.options.handler(letter.event, this.context(tx, letter.attempts + 1));
            }
          }
          await tx.deleteDeadLetter(letter.id);
        });
        if (handleIt) handled++;
      } catch (error) {
        const now = new Date();
        await this.storage.transaction(async (tx) =>
          tx.updateDeadLetter(letter.id, {
            status: 'dead',
            failure: { error: errorMessage(error), attempts: letter.attempts + 1, firstFailedAt: letter.firstFailedAt ?? now, lastFailedAt: now },
          }),
        );
        return { handled, remaining: letters.length - i };
      }
    }
    this.blocked.delete(target.streamId);
    return { handled, remaining: 0 };
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}
