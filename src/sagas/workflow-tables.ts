import type { EventStore } from '../core/event-store.js';
import type { JsonValue } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { sqlAccess } from '../store/sql-access.js';
import { ServiceKey, storeServices } from '../store/store-services.js';
import { MemoryWorkflowTables } from './memory-workflow-tables.js';
import { SqlWorkflowTables } from './sql-workflow-tables.js';

/** A pending durable timer (a row of `workflow_timers`). */
export interface WorkflowTimer {
  workflow: string;
  instanceId: string;
  timer: string;
  dueAt: Date;
  /** The `sourceId` of its `TimerFired` input (see `timerFireId`). */
  fireId: string;
  payload?: JsonValue;
}

/** A workflow instance as operators list it (a row of `workflow_instances`). */
export interface WorkflowInstanceRow {
  workflow: string;
  instanceId: string;
  status: 'running' | 'completed';
  /** The workflow's own finer status (see `WorkflowDefinition.phase`), when it has one. */
  phase?: string;
  /** The version of its log. */
  version: number;
  startedAt: Date;
  updatedAt: Date;
}

/** A row of `workflow_locks`: an instance holding a semantic lock, or waiting in line for it. */
export interface SemanticLock {
  resource: string;
  workflow: string;
  instanceId: string;
  state: 'held' | 'queued';
  /** Held since, or queued since. */
  since: Date;
  expiresAt?: Date;
}

/** What `acquireLock` asks for. */
export interface LockRequest {
  resource: string;
  workflow: string;
  instanceId: string;
  policy: 'fail' | 'queue';
  expiresAfterMs?: number;
  now: Date;
}

/** What `acquireLock` found. */
export type LockOutcome = { acquired: true; expiresAt?: Date } | { acquired: false; holder: SemanticLock; queued: boolean };

/**
 * The writes of one transaction: on SQL stores statements on its session, on the memory store
 * a batch applied by `end(true)` (and dropped by `end(false)`).
 */
export interface WorkflowTableWrites {
  scheduleTimer(timer: WorkflowTimer): Promise<void>;
  cancelTimer(workflow: string, instanceId: string, timer: string): Promise<void>;
  saveInstance(row: Omit<WorkflowInstanceRow, 'startedAt' | 'updatedAt'>): Promise<void>;
  /**
   * Locks the instance's timer rows for this transaction (SQL: `FOR UPDATE`; memory: nothing).
   * Taken before the log append, it puts a runner behind a timer service that is firing one of
   * them, in the same order (timer row, then log) the service takes them: no deadlock between the two.
   */
  lockTimers(workflow: string, instanceId: string): Promise<void>;
  /** The earliest timer due at `now`, held for this transaction (SQL: `FOR UPDATE SKIP LOCKED`, so other services pass it by). */
  claimDueTimer(workflow: string, now: Date): Promise<WorkflowTimer | undefined>;
  /** Deletes the claimed row, unless the firing rescheduled the same timer (its `fireId` differs then). */
  deleteTimer(timer: WorkflowTimer): Promise<void>;
  /**
   * Takes a semantic lock: free, lapsed (its `expiresAt` passed) or already this instance's, it
   * is held by this instance now; held by another, the instance joins the line under `'queue'`.
   * On SQL stores a competitor's uncommitted hold makes this wait for its transaction.
   */
  acquireLock(request: LockRequest): Promise<LockOutcome>;
  /**
   * Drops the instance's rows for `resource` (every resource when undefined), held or queued. A
   * held lock goes to the first in line, who is woken by a due timer `lock:<resource>` whose
   * firing id is `lock:<resource>@<releaseId>`.
   */
  releaseLocks(workflow: string, instanceId: string, resource: string | undefined, releaseId: string, now: Date): Promise<void>;
  /** The transaction ended: committed or rolled back (a committed schedule is told to the store's `TimerSignal`). */
  end(committed: boolean): void;
}

/** The tables of the workflows beside the log (migrations/006-workflow-tables.ts), or their memory equivalent. */
export interface WorkflowTables {
  writes(sql: SqlQueryable | undefined): WorkflowTableWrites;
  /** When the earliest pending timer of `workflow` is due. */
  nextDueAt(workflow: string): Promise<Date | undefined>;
  timers(workflow: string, options?: { instanceId?: string; limit?: number }): Promise<WorkflowTimer[]>;
  instances(workflow: string, options?: { status?: WorkflowInstanceRow['status']; phase?: string; limit?: number }): Promise<WorkflowInstanceRow[]>;
  instance(workflow: string, instanceId: string): Promise<WorkflowInstanceRow | undefined>;
  /** Semantic locks, held and queued, oldest first; of one workflow, one resource or one instance when given. */
  locks(options?: { workflow?: string; resource?: string; instanceId?: string }): Promise<SemanticLock[]>;
}

/**
 * "A timer was scheduled" in this process, told after its transaction committed: the timer
 * services of the store sleep until the earliest due time, and a new timer may be earlier.
 * (Appends wake them too, from other processes by LISTEN, but an append's wake-up can come
 * before the commit of the timer row that goes with it.)
 */
export class TimerSignal {
  private readonly listeners = new Set<() => void>();

  /** Calls `listener` after each commit that scheduled a timer, until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  fire(): void {
    for (const listener of this.listeners) listener();
  }
}

const MEMORY_TABLES = new ServiceKey<MemoryWorkflowTables>('sagas.memoryTables');
const TIMER_SIGNAL = new ServiceKey<TimerSignal>('sagas.timerSignal');

/**
 * The timer signal of a store, shared by every registry wrapper around it.
 *
 * @example
 * const off = timerSignalFor(store).subscribe(() => sleeper.wake())
 */
export function timerSignalFor(store: EventStore): TimerSignal {
  return storeServices(store).get(TIMER_SIGNAL, () => new TimerSignal());
}

/**
 * The workflow tables of a store: SQL tables on a store with the `sql` capability, otherwise one
 * set of maps per store (shared by every registry wrapper around it).
 *
 * @example
 * const next = await workflowTablesFor(store).nextDueAt('checkout')
 */
export function workflowTablesFor(store: EventStore): WorkflowTables {
  const sql = sqlAccess(store);
  const signal = timerSignalFor(store);
  if (sql) return new SqlWorkflowTables(sql.client, sql.names, signal);
  return storeServices(store).get(MEMORY_TABLES, () => new MemoryWorkflowTables(signal));
}
