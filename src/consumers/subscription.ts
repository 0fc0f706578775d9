import type { Logger } from '../core/logger.js';
import { gaugeRunner, instruments } from '../core/telemetry/instruments.js';
import { STORE_SYSTEM, tracedHandling, type HandlingRunner } from '../core/telemetry/spans.js';
import { FactumError, isCheckpointConflict } from '../core/errors.js';
import type { AllFilter, AppendOptions, EventStore } from '../core/event-store.js';
import type { AppendResult, NewEvent, RecordedEvent } from '../core/message.js';
import type { EventRegistry } from '../schema/event-registry.js';
import { eventRegistryOf, unwrapEventStore } from '../schema/registered-event-store.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { AppendSignal } from './append-signal.js';
import { consumerStorageFor, type Checkpoint, type ConsumerStorage, type ConsumerTx, type DeadLetter, type DeadLetterStatus } from './consumer-storage.js';
import { CheckpointKeeper, GenerationChanged } from './checkpoint-keeper.js';
import { DeadLetterDrain, type DrainResult } from './dead-letter-drain.js';
import { DeadLetterRequestWorker } from './dead-letter-request-worker.js';
import { deliverInTransaction } from './deliver-in-transaction.js';
import { deliverOutside } from './deliver-outside.js';
import type { BatchHandler } from './deliver-batch.js';
import { BatchPipeline } from './batch-pipeline.js';
import { plainHandlerWrites, TransactionAppends, type HandlerWrites } from './handler-appends.js';
import { SubscriptionHandlerContext } from './subscription-handler-context.js';
import type { DeliveryHost } from './delivery-host.js';
import type { LazySavepoint } from './lazy-savepoint.js';
import { Mutex, Sleeper } from './mutex.js';
import { StandbyLease } from './standby-lease.js';
import { subscriptionSource, type SourcePage, type SubscriptionSource } from './subscription-source.js';
import type { RetryPolicy } from '../core/retry-policy.js';

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
  /**
   * Appends to the store as part of this handler's work. In transactional delivery (the
   * default) on SQL stores the appends join the handler's transaction: they commit with its rows,
   * its inbox row and the checkpoint, or not at all (a handler that throws has them rolled back
   * with its savepoint), and wake other subscriptions only once committed. On the memory store
   * they become visible when the handler returns and are dropped when it throws. With
   * `transactional: false` it is a plain append that commits at once (at-least-once).
   * Events without an `id` get one derived from the handled event's id, the subscription and
   * their place among the handler's appends: a re-delivery appends the same ids, which the
   * store's idempotent append absorbs.
   */
  append(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * The store as this handler sees it: `append` is `context.append`, and forward reads of a
   * stream (and `streamInfo`) include what the handler's transaction appended, so
   * `handleCommand(context.store, ...)` runs a command inside the handler's transaction.
   */
  store: EventStore;
  /**
   * Resolves true once this handler's work committed (its transaction, or, with
   * `transactional: false`, the handler's return), false once it was rolled back (the handler
   * threw, or the transaction failed). For work that must only follow a commit, such as a
   * snapshot of the state the handler's appends reached.
   */
  committed: Promise<boolean>;
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
  /** Where errors, dead letters and state changes are logged (pino-compatible); silent by default. */
  logger?: Logger;
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
  /**
   * One active instance at a time: an instance started while another holds the subscription
   * waits in state `'standby'`, handling nothing, and takes over within `leaseMs` and a third
   * of the holder's death (its lease lapses, and a standby looks every third of `leaseMs`; at
   * once when the holder stops). The lease is a row beside the log, so this
   * works across processes on PostgreSQL; on PGlite and the memory store the instances of one
   * process share it. False by default: a second instance then loses the checkpoint race and stops.
   */
  standby?: boolean;
  /** How long a standby waits for a holder that stopped renewing; 3,000 ms by default. */
  leaseMs?: number;
  /**
   * @internal Handles each page at once instead of event by event (the relay's batch publish;
   * see `deliverBatch`). Needs `transactional: false`: `handler` still handles one event at a
   * time where a dead letter and its parked events are retried.
   */
  batchHandler?: BatchHandler;
  /**
   * @internal With a `batchHandler`: events handed to it and not settled yet, at most (later pages
   * are read and handed over while earlier ones wait; see `BatchPipeline`). 4 pages by default.
   */
  maxInFlight?: number;
  /**
   * @internal the handler keeps every effect in its `sql` transaction (a projection's read model):
   * a page then runs without savepoints, and a failing event rolls it back and has the events
   * before it handled again (see deliver-in-transaction.ts). Never for effects outside the database.
   */
  replayOnFailure?: boolean;
  /** @internal the `kind` label of its metrics: projection, relay, workflow; subscription by default. */
  runnerKind?: string;
  /** @internal name of the checkpoint when it differs from `name` (partitions, rebuilds). */
  checkpointName?: string;
}

/** Where a subscription stands. */
export interface SubscriptionStatus {
  name: string;
  /** `'standby'`: waiting to take over from the instance that runs it (option `standby`). */
  state: 'starting' | 'standby' | 'running' | 'stopped' | 'failed';
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
  /** Streams held behind a dead or retrying event (their later events park, in order). */
  blockedStreams: string[];
  /** The latest failed attempt of any event (a handler that threw, an event that cannot be upcast). */
  lastFailure?: { eventId: string; streamId: string; status: DeadLetterStatus; error: string; code?: string; at: Date };
}

export type { DrainResult } from './dead-letter-drain.js';

/**
 * A catch-up subscription: from a stored checkpoint (or the start, or the end) it reads the
 * log in gap-safe pages, handles each event, and stores the checkpoint in the same transaction
 * as the handler's writes; once it has caught up it stays live, woken at once by appends (LISTEN/
 * NOTIFY on PostgreSQL, in-process elsewhere) with polling as the fallback. The catch-up and the
 * live phase are the same loop over the same primitive, so the switch has no gap and no duplicate.
 *
 * A failing event is recorded as `retrying` and its retries run on timers, while the later
 * events of its stream park behind it in order and every other stream keeps flowing; after the
 * last retry it is dead-lettered (`dead`) and its stream stays parked until `retryDeadLetter` or
 * `skipDeadLetter`. An event that cannot be upcast is dead-lettered at once, the same way.
 * On SQL stores those two can also be asked for from another process (`factum dead-letters
 * retry|skip`, the standalone dashboard): a running instance picks the request up within
 * `pollIntervalMs`, carries it out with its handler and records the outcome.
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
  /** Reads the store under any registry: events are upcast here, one by one, so one that cannot be is dead-lettered alone. */
  private readonly source: SubscriptionSource;
  private readonly registry?: EventRegistry;
  private readonly checkpointName: string;
  private readonly lock = new Mutex();
  private readonly sleeper = new Sleeper();
  private readonly keeper: CheckpointKeeper;
  private position = 0n;
  private head = 0n;
  private pendingSince?: Date;
  private waitingOn?: { position: bigint; since?: Date };
  private state: SubscriptionStatus['state'] = 'starting';
  private failure?: unknown;
  private lastFailure?: SubscriptionStatus['lastFailure'];
  /** The streams held behind failed events, and their retries. */
  private readonly drain: DeadLetterDrain;
  /** Retries and skips an operator asked for in the database (SQL stores), carried out here with the handler. */
  private requests?: DeadLetterRequestWorker;
  /** What the page deliveries (in a transaction, or outside one) use of this subscription. */
  private readonly delivery: DeliveryHost;
  private stopping = false;
  private loop?: Promise<void>;
  private offSignal?: () => Promise<void>;
  private lease?: StandbyLease;
  private renewal?: NodeJS.Timeout;
  private waiters = new Set<() => void>();
  /** Names its spans and metrics. */
  private readonly runner: HandlingRunner;
  private ungauge?: () => void;
  /** The handlers' appends of each open consumer transaction. */
  private readonly appends = new WeakMap<ConsumerTx, TransactionAppends>();

  constructor(
    readonly store: EventStore,
    private readonly options: SubscriptionOptions,
  ) {
    if (!options.name) throw new FactumError('INVALID_ARGUMENT', 'A subscription needs a name');
    if (options.stream && (options.filter?.types?.length || options.filter?.categories?.length)) {
      throw new FactumError('INVALID_ARGUMENT', 'A stream subscription takes no $all filter');
    }
    if (options.batchHandler && options.transactional !== false) throw new FactumError('INVALID_ARGUMENT', 'A batch handler runs outside transactions: set transactional: false');
    this.name = options.name;
    this.runner = { name: options.name, system: STORE_SYSTEM };
    this.checkpointName = options.checkpointName ?? options.name;
    this.storage = consumerStorageFor(store);
    this.drain = new DeadLetterDrain(this.storage, this.name, options.retry, this.lock, {
      isStopping: () => this.stopping && this.loop !== undefined,
      deliver: (letter, attempt, handle) => this.deliver(letter, attempt, handle),
      positionOf: (event) => this.positionOf(event),
      failed: (letter, error) => {
        this.reportError(error, letter.event);
        this.noteFailure(letter, error);
      },
      reportError: (error, event) => this.reportError(error, event),
      changed: () => this.notifyWaiters(),
    });
    this.delivery = {
      drain: this.drain,
      replayOnFailure: options.replayOnFailure ?? false,
      position: () => this.position,
      isStopping: () => this.stopping,
      positionOf: (event) => this.positionOf(event),
      commit: (fn, committed) => this.commit(fn, committed),
      handle: (tx, event, attempt, guard) => this.handle(tx, this.upcast(event), attempt, guard),
      handleOutside: async (event, attempt) => {
        const upcast = this.upcast(event);
        const writes = plainHandlerWrites(this.store, this.name, upcast);
        try {
          await tracedHandling(this.runner, upcast, async () => this.options.handler(upcast, this.context(undefined, attempt, writes)));
        } catch (error) {
          writes.settle(false);
          throw error;
        }
        writes.settle(true);
      },
    };
    this.keeper = new CheckpointKeeper(this.storage, this.name, this.checkpointName, options.relaxedDurability ?? false, (checkpoint, reset) => this.advanced(checkpoint, reset));
    this.source = subscriptionSource(unwrapEventStore(store), options);
    const registry = eventRegistryOf(store);
    if (registry) this.registry = registry;
  }

  /** Loads the checkpoint and starts the loop; resolves once running (or, with `standby`, once waiting). */
  async start(): Promise<this> {
    if (this.loop) return this;
    if (this.options.standby) {
      this.lease = StandbyLease.of(this.storage, `standby:${this.checkpointName}`, this.options.leaseMs ?? 3000);
      if (!(await this.lease.acquire())) {
        this.enter('standby');
        this.loop = this.standBy();
        return this;
      }
      this.keepLease();
    }
    await this.begin();
    this.loop = this.run();
    return this;
  }

  /** Tries for the lease every third of its time; once it holds it, begins and runs. */
  private async standBy(): Promise<void> {
    const lease = this.lease!;
    while (!this.stopping) {
      await this.sleeper.sleep(Math.max(50, Math.floor(lease.leaseMs / 3)));
      if (this.stopping) return;
      try {
        if (!(await lease.acquire())) continue;
        this.keepLease();
        await this.begin();
      } catch (error) {
        this.reportError(error);
        continue;
      }
      return this.run();
    }
  }

  /** Renews the lease every third of its time; a lapsed lease stops this instance (another may run now). */
  private keepLease(): void {
    const lease = this.lease!;
    this.renewal = setInterval(() => {
      lease.renew().then(
        (held) => {
          if (held || this.stopping) return;
          this.fail(new FactumError('LEASE_LOST', `Subscription "${this.name}": its lease lapsed (another instance may run it now); this one stops`, { details: { name: this.checkpointName } }));
          this.sleeper.wake();
        },
        (error: unknown) => this.reportError(error),
      );
    }, Math.max(50, Math.floor(lease.leaseMs / 3)));
    this.renewal.unref();
  }

  /** Loads the checkpoint, the blocked streams and their retries, and listens for appends. */
  private async begin(): Promise<void> {
    if (!(await this.keeper.load())) {
      const from = this.options.from ?? 'start';
      const initial = from === 'start' ? 0n : from === 'end' ? await this.source.head() : from.after;
      // Stored now, so a restart before the first event still begins where this start did.
      try {
        await this.commit(async () => initial);
      } catch (error) {
        // Another instance created it at the same moment: start from theirs.
        if (!isCheckpointConflict(error)) throw error;
        await this.keeper.load();
      }
    }
    // Retries that were under way when the last instance stopped (or crashed) go on from here.
    await this.drain.load((streamId) => this.source.covers(streamId));
    this.position = this.keeper.checkpoint!.position;
    this.head = this.position;
    this.requests = DeadLetterRequestWorker.for(this.store, this.deadLetterName(), this.options.pollIntervalMs ?? 1000, {
      retry: (id) => this.retryDeadLetter(id),
      resume: (streamId) => this.drain.resume(streamId),
      letters: (streamId) => this.deadLetters({ streamId }),
      covers: (streamId) => this.source.covers(streamId),
      reportError: (error) => this.reportError(error),
    });
    this.requests?.start();
    this.offSignal = await AppendSignal.of(this.store).subscribe(() => this.sleeper.wake());
    this.enter('running');
    this.ungauge = gaugeRunner({ name: this.name, kind: this.options.runnerKind ?? 'subscription', lag: () => this.lag(), status: () => this.status() });
  }

  /**
   * Stops after the event in hand: what was handled so far commits with its checkpoint, and
   * pending retries stay recorded for the next start. Stop every subscription before closing
   * its store: the last one to stop gives back the LISTEN connection.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.drain.stop();
    this.sleeper.wake();
    await this.requests?.stop();
    await this.loop;
    // A retry in progress finishes its event (it checks `stopping` before the next one).
    await this.lock.run(async () => {});
    await this.offSignal?.();
    this.offSignal = undefined;
    clearInterval(this.renewal);
    // Handed back at once, so a standby need not wait for it to lapse.
    await this.lease?.release().catch((error: unknown) => this.reportError(error));
    this.ungauge?.();
    if (this.state !== 'failed') this.enter('stopped');
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves when the loop ends (after `stop()`, or a failure such as a lost checkpoint race). */
  async done(): Promise<void> {
    await this.loop;
  }

  status(): SubscriptionStatus {
    const position = this.handled();
    const lag = this.head > position ? this.head - position : 0n;
    const since = this.waitingOn?.since ?? this.pendingSince;
    return {
      name: this.name,
      state: this.state,
      position,
      headPosition: this.head,
      lagEvents: lag,
      lagSeconds: lag > 0n && since ? Math.max(0, (Date.now() - since.getTime()) / 1000) : 0,
      caughtUp: lag === 0n,
      ...(this.waitingOn ? { waitingOn: this.waitingOn } : {}),
      ...(this.failure !== undefined ? { error: this.failure } : {}),
      blockedStreams: [...this.drain.blocked].sort(),
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    };
  }

  /** Lag measured now against the store (not the last read): events and seconds behind the head. */
  async lag(): Promise<{ events: bigint; seconds: number; position: bigint; headPosition: bigint }> {
    const head = await this.source.head();
    const position = this.handled();
    if (head <= position) return { events: 0n, seconds: 0, position, headPosition: head };
    const next = await this.source.next(position);
    const seconds = next ? Math.max(0, (Date.now() - next.recordedAt.getTime()) / 1000) : 0;
    return { events: head - position, seconds, position, headPosition: head };
  }

  /**
   * Resolves once everything up to `position` is handled (read-your-writes: pass the
   * `lastPosition` of your append). Rejects with `WAIT_TIMEOUT` after `timeoutMs` (5 s by default).
   */
  waitFor(position: bigint, options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.handled() >= position) return Promise.resolve();
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.handled() >= position) finish();
        else if (this.state === 'stopped' || this.state === 'failed') finish(new FactumError('WAIT_TIMEOUT', `Subscription "${this.name}" ${this.state} before reaching position ${position}`, { details: { position: position.toString() } }));
      };
      const timer = setTimeout(() => finish(new FactumError('WAIT_TIMEOUT', `Subscription "${this.name}" did not reach position ${position} within ${timeoutMs} ms`, { details: { position: position.toString(), reached: this.handled().toString(), timeoutMs } })), timeoutMs);
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

  /** Dead letters, events being retried and parked events of this subscription, in log order. */
  deadLetters(options: { streamId?: string; status?: DeadLetterStatus } = {}): Promise<DeadLetter[]> {
    return this.storage.listDeadLetters(this.deadLetterName(), options);
  }

  /**
   * Handles the dead letter again, then the events parked behind it, in order. If one fails,
   * it becomes (or stays) the dead letter and the rest stay parked.
   */
  retryDeadLetter(id: string): Promise<DrainResult> {
    return this.drain.retryDeadLetter(id, false);
  }

  /** Drops the dead letter unhandled, then handles the events parked behind it, in order. */
  skipDeadLetter(id: string): Promise<DrainResult> {
    return this.drain.retryDeadLetter(id, true);
  }

  // ---------------------------------------------------------------------------------------

  /**
   * Everything up to here is handled: the checkpoint, or just before the first event still in
   * retry (the checkpoint passed it, as it is on record, but it is not handled yet).
   */
  private handled(): bigint {
    return this.drain.handledUpTo(this.position);
  }

  private notifyWaiters(): void {
    for (const waiter of this.waiters) waiter();
  }

  private deadLetterName(): string {
    return this.name;
  }

  private positionOf(event: RecordedEvent): bigint {
    return this.source.positionOf(event);
  }

  private async run(): Promise<void> {
    let idleDelay = 5;
    let readFailures = 0;
    const pollMs = this.options.pollIntervalMs ?? 1000;
    const batchSize = this.options.batchSize ?? 100;
    // Batch delivery overlaps pages: the next one is read and handed over while the earlier ones
    // wait (a relay, for the broker's confirms); they are settled in log order.
    const batch = this.options.batchHandler;
    const pipeline = batch ? new BatchPipeline(this.delivery, batch, this.lock, this.options.maxInFlight ?? 4 * batchSize, () => this.sleeper.wake()) : undefined;
    const deliver = this.options.transactional === false ? deliverOutside : deliverInTransaction;
    while (!this.stopping) {
      this.sleeper.clear();
      if (pipeline) {
        try {
          await pipeline.ready();
        } catch (error) {
          if (await this.deliveryFailed(error, pollMs)) return;
          continue;
        }
        if (this.stopping) break;
      }
      const from = pipeline ? pipeline.nextRead() : this.position;
      let page: SourcePage;
      try {
        page = await this.source.readPage(from, batchSize);
        readFailures = 0;
      } catch (error) {
        // A dropped connection or a restarting database: report, back off, try again.
        this.reportError(error);
        readFailures++;
        await this.sleeper.sleep(Math.min(pollMs, 50 * 2 ** readFailures));
        continue;
      }
      this.head = page.head > this.head ? page.head : this.head;
      this.waitingOn = page.waitingOn;
      this.pendingSince = page.events[0]?.recordedAt ?? (page.position < page.head ? this.pendingSince : undefined);
      if (page.events.length > 0 || page.position > from) {
        idleDelay = 5;
        if (pipeline) {
          pipeline.push(page.events, from, page.position);
          continue;
        }
        try {
          await this.lock.run(() => deliver(this.delivery, page.events, page.position));
        } catch (error) {
          if (await this.deliveryFailed(error, pollMs)) return;
        }
        continue;
      }
      // Caught up. A position below the head means appends are in flight (or a hole is not yet
      // proven final): look again soon. Otherwise sleep until an append wakes us, or poll.
      const busy = page.waitingOn !== undefined || page.position < page.head;
      await this.sleeper.sleep(busy ? idleDelay : pollMs);
      idleDelay = busy ? Math.min(idleDelay * 2, pollMs) : 5;
    }
    // Stopping: the pages in flight settle, so their confirmed prefix is checkpointed.
    await pipeline?.idle().catch((error: unknown) => {
      if (isCheckpointConflict(error)) this.fail(error);
      else this.reportError(error);
    });
  }

  /** A page's delivery failed: true when the loop must end (a lost checkpoint race, or stopping). */
  private async deliveryFailed(error: unknown, pollMs: number): Promise<boolean> {
    // Outside the rolled-back transaction: PGlite runs one statement at a time.
    if (error instanceof GenerationChanged) {
      await this.drain.load((streamId) => this.source.covers(streamId)).catch((e: unknown) => this.reportError(e));
      return false;
    }
    if (isCheckpointConflict(error) || this.stopping) {
      this.fail(error);
      return true;
    }
    this.reportError(error);
    await this.sleeper.sleep(Math.min(pollMs, 100));
    return false;
  }

  private fail(error: unknown): void {
    this.failure = error;
    // Another instance runs it now (a lost checkpoint race, a lapsed lease): requests are its to carry out.
    void this.requests?.stop();
    this.enter('failed');
    this.stopping = true;
    for (const waiter of this.waiters) waiter();
  }

  /** The checkpoint moved: by a commit (forward), or by a rebuild's swap (reset to its position). */
  private advanced(checkpoint: Checkpoint, reset = false): void {
    if (reset || checkpoint.position > this.position) this.position = checkpoint.position;
    if (this.position >= this.head) this.pendingSince = undefined;
    this.notifyWaiters();
  }

  private commit(fn: (tx: ConsumerTx) => Promise<bigint>, committed?: () => void): Promise<void> {
    return this.joiningAppends((open) => this.keeper.commit(open(fn), committed));
  }

  /**
   * Runs a consumer transaction (`run` opens it with the callback `open` returns) whose handlers
   * append in it; their appends are told to the store's listeners only once it committed.
   */
  private async joiningAppends(run: (open: <T>(fn: (tx: ConsumerTx) => Promise<T>) => (tx: ConsumerTx) => Promise<T>) => Promise<void>): Promise<void> {
    let appends: TransactionAppends | undefined;
    try {
      await run((fn) => (tx) => {
        appends = new TransactionAppends(this.store, this.name, tx.sql);
        this.appends.set(tx, appends);
        return fn(tx);
      });
    } catch (error) {
      appends?.end(false);
      throw error;
    }
    appends?.end(true);
  }

  private context(sql: SqlQueryable | undefined, attempt: number, writes: HandlerWrites): HandlerContext {
    return new SubscriptionHandlerContext(this.store, this.name, attempt, writes, sql);
  }

  /** The event as the code knows it now (throws `UPCAST_FAILED` when it cannot be). */
  private upcast(event: RecordedEvent): RecordedEvent {
    return this.registry ? this.registry.upcast(event) : event;
  }

  /** Runs the handler unless the inbox has seen the event; through `guard`, when given (see `LazySavepoint`). */
  private async handle(tx: ConsumerTx, event: RecordedEvent, attempt: number, guard?: LazySavepoint): Promise<void> {
    if (this.options.inbox && !(await (guard ?? tx).recordInbox(this.name, event.id))) return;
    const sql = guard ? guard.sql : tx.sql;
    const writes = this.appends.get(tx)!.attempt(event, sql);
    try {
      await tracedHandling(this.runner, event, async () => this.options.handler(event, this.context(sql, attempt, writes)));
      await writes.succeeded();
    } catch (error) {
      await writes.failed();
      throw error;
    }
  }

  private enter(state: SubscriptionStatus['state']): void {
    if (this.state === state) return;
    this.state = state;
    const logger = this.options.logger;
    if (state === 'failed') logger?.error({ runner: this.name, state, err: this.failure }, `${this.name}: failed`);
    else logger?.info({ runner: this.name, state }, `${this.name}: ${state}`);
  }

  private reportError(error: unknown, event?: RecordedEvent): void {
    this.options.onError?.(error, event);
    this.options.logger?.error({ runner: this.name, err: error, ...(event ? { eventId: event.id, streamId: event.streamId } : {}) }, `${this.name}: ${event ? `event ${event.id} failed` : 'error'}`);
  }

  private noteFailure(letter: DeadLetter, error: unknown): void {
    if (letter.status === 'dead') {
      instruments()?.deadLetters.add(1, { runner: this.name, kind: this.options.runnerKind ?? 'subscription' });
      this.options.logger?.warn({ runner: this.name, eventId: letter.event.id, streamId: letter.streamId, attempts: letter.attempts, err: error }, `${this.name}: event ${letter.event.id} is a dead letter; stream ${letter.streamId} is parked`);
    }
    const code = (error as { code?: unknown })?.code;
    this.lastFailure = {
      eventId: letter.event.id,
      streamId: letter.streamId,
      status: letter.status,
      error: letter.error ?? String(error),
      ...(typeof code === 'string' ? { code } : {}),
      at: letter.lastFailedAt ?? new Date(),
    };
  }

  /** Handles a dead letter's event as attempt `attempt` (unless `handle` is false) and removes its row. */
  private async deliver(letter: DeadLetter, attempt: number, handle: boolean): Promise<void> {
    if (handle && this.options.transactional === false) await this.delivery.handleOutside(letter.event, attempt);
    await this.joiningAppends((open) =>
      this.storage.transaction(
        open(async (tx) => {
          if (handle && this.options.transactional !== false) await this.delivery.handle(tx, letter.event, attempt);
          await tx.deleteDeadLetter(letter.id);
        }),
      ),
    );
  }
}
