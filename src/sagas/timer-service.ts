import { instruments } from '../core/telemetry/instruments.js';
import type { EventStore } from '../core/event-store.js';
import type { EventShape, RecordedEvent } from '../core/message.js';
import { AppendSignal } from '../consumers/append-signal.js';
import { consumerStorageFor, type ConsumerStorage } from '../consumers/consumer-storage.js';
import { TransactionAppends } from '../consumers/handler-appends.js';
import { handlerStoreView } from '../consumers/handler-store-view.js';
import { Sleeper } from '../consumers/mutex.js';
import { acceptInput } from './accept-input.js';
import type { TimerFired, Workflow } from './workflow.js';
import { timerSignalFor, workflowTablesFor, type WorkflowTables, type WorkflowTimer } from './workflow-tables.js';

/** Options of `TimerService`. */
export interface TimerServiceOptions {
  /** The longest sleep between looks at the table when nothing wakes it; 1,000 ms by default. */
  pollIntervalMs?: number;
  /** Called for errors that do not stop the service (a failed firing is tried again). */
  onError?: (error: unknown) => void;
}

/** Where a timer service stands. */
export interface TimerServiceStatus {
  state: 'starting' | 'running' | 'stopped';
  /** Timers this service fired. */
  fired: number;
  /** How late the last fired timer was, in milliseconds (its firing time minus its due time). */
  lastLatenessMs?: number;
  maxLatenessMs: number;
  /** When the earliest pending timer is due, as of the last look. */
  nextDueAt?: Date;
}

/**
 * Fires a workflow's due timers, each exactly once: in one transaction it takes the earliest due
 * row (`FOR UPDATE SKIP LOCKED` on SQL stores, so several services, in several processes, share
 * the work and never fire one timer twice), takes the `TimerFired` input into the instance's log
 * like any input (deciding, appending, scheduling), and deletes the row. A timer that fell due
 * while no service ran fires at the next start, late, with its lateness in the input and the
 * status. Between firings it sleeps until the earliest due time, woken when a timer is
 * scheduled in this process (after its commit) and by appends (of others through LISTEN on
 * PostgreSQL), since every new timer comes with one.
 *
 * @example
 * const timers = new TimerService(store, checkout)
 * await timers.start()
 * console.log(timers.status().fired)
 * await timers.stop()
 */
export class TimerService {
  private readonly tables: WorkflowTables;
  private readonly storage: ConsumerStorage;
  private readonly sleeper = new Sleeper();
  private readonly current: TimerServiceStatus = { state: 'starting', fired: 0, maxLatenessMs: 0 };
  private stopping = false;
  private loop?: Promise<void>;
  private offSignal?: () => Promise<void>;
  private offTimers?: () => void;

  constructor(
    readonly store: EventStore,
    readonly workflow: Workflow<any, any, any, any>,
    private readonly options: TimerServiceOptions = {},
  ) {
    this.tables = workflowTablesFor(store);
    this.storage = consumerStorageFor(store);
  }

  async start(): Promise<this> {
    if (this.loop) return this;
    this.stopping = false;
    this.offSignal = await AppendSignal.of(this.store).subscribe(() => this.sleeper.wake());
    this.offTimers = timerSignalFor(this.store).subscribe(() => this.sleeper.wake());
    this.current.state = 'running';
    this.loop = this.run();
    return this;
  }

  /** Stops after the firing in hand. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    await this.loop;
    this.loop = undefined;
    await this.offSignal?.();
    this.offSignal = undefined;
    this.offTimers?.();
    this.offTimers = undefined;
    this.current.state = 'stopped';
  }

  status(): TimerServiceStatus {
    return { ...this.current };
  }

  /** Fires every timer due now, one transaction each; resolves to how many fired. */
  async fireDue(now: () => Date = () => new Date()): Promise<number> {
    let fired = 0;
    // The running loop gives up at `stop()`; a call from outside (no loop) fires all that is due.
    while (!(this.stopping && this.loop)) {
      const timer = await this.fireOne(now());
      if (!timer) break;
      fired++;
    }
    return fired;
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollIntervalMs ?? 1000;
    let failures = 0;
    while (!this.stopping) {
      this.sleeper.clear();
      let wait = pollMs;
      try {
        await this.fireDue();
        const next = await this.tables.nextDueAt(this.workflow.name);
        if (next) this.current.nextDueAt = next;
        else delete this.current.nextDueAt;
        if (next) wait = Math.max(0, Math.min(pollMs, next.getTime() - Date.now()));
        failures = 0;
      } catch (error) {
        this.options.onError?.(error);
        failures++;
        wait = Math.min(pollMs, 50 * 2 ** failures);
      }
      if (!this.stopping) await this.sleeper.sleep(wait);
    }
  }

  private async fireOne(now: Date): Promise<WorkflowTimer | undefined> {
    const tables = this.tables;
    let appends: TransactionAppends | undefined;
    let writes: ReturnType<WorkflowTables['writes']> | undefined;
    let firedAt = now;
    let result: WorkflowTimer | undefined;
    try {
      result = await this.storage.transaction(async (tx) => {
        writes = tables.writes(tx.sql);
        const timer = await writes.claimDueTimer(this.workflow.name, now);
        if (!timer) return undefined;
        firedAt = new Date();
        appends = new TransactionAppends(this.store, `workflow-timers:${this.workflow.name}`, tx.sql);
        const attempt = appends.attempt(firing(timer, firedAt), tx.sql);
        const input: TimerFired = {
          type: 'TimerFired',
          data: { timer: timer.timer, dueAt: timer.dueAt.toISOString(), firedAt: firedAt.toISOString(), latenessMs: Math.max(0, firedAt.getTime() - timer.dueAt.getTime()), ...(timer.payload !== undefined ? { payload: timer.payload } : {}) },
        };
        try {
          // Not `lockTimers`: this service holds its own row; waiting for the instance's others could
          // deadlock with a second service firing one of them. A runner locks them before it appends.
          await acceptInput(this.workflow as Workflow<unknown, EventShape>, handlerStoreView(this.store, attempt), writes, timer.instanceId, { sourceId: timer.fireId, input, at: firedAt }, { lockTimers: false, retryConflicts: tx.sql !== undefined });
          await attempt.succeeded();
        } catch (error) {
          await attempt.failed();
          throw error;
        }
        await writes.deleteTimer(timer);
        return timer;
      });
    } catch (error) {
      appends?.end(false);
      writes?.end(false);
      throw error;
    }
    appends?.end(true);
    writes?.end(true);
    if (result) {
      const lateness = Math.max(0, firedAt.getTime() - result.dueAt.getTime());
      this.current.fired++;
      this.current.lastLatenessMs = lateness;
      instruments()?.sagaTimerLateness.record(lateness / 1000, { saga: this.workflow.name });
      this.current.maxLatenessMs = Math.max(this.current.maxLatenessMs, lateness);
    }
    return result;
  }
}

/** The event a firing's appends are attributed to (their ids are given, so it names them nowhere). */
function firing(timer: WorkflowTimer, at: Date): RecordedEvent {
  return { id: timer.fireId, type: 'TimerFired', data: {}, metadata: {}, schemaVersion: 1, streamId: `workflow-${timer.workflow}-${timer.instanceId}`, streamVersion: 0, globalPosition: 0n, recordedAt: at };
}
