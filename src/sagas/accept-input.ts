import { isConcurrencyError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { EventMetadata, EventShape, JsonValue, NewEvent, RecordedEvent } from '../core/message.js';
import { retryDelays, type RetryPolicy } from '../core/retry-policy.js';
import { sleep } from '../core/sleep.js';
import { handlerEventId } from '../consumers/handler-event-id.js';
import type { AcquireLock, LockHolder, Workflow, WorkflowInput, WorkflowOutput } from './workflow.js';
import { foldWorkflowLog, timerFireId, WORKFLOW_LOG_TYPES, workflowStreamId, type FoldedInstance, type InputAcceptedData } from './workflow-log.js';
import type { LockOutcome, WorkflowTableWrites } from './workflow-tables.js';

/** One input on its way into an instance's log. */
export interface IncomingInput<I extends EventShape> {
  /** The input's event id, or a timer's firing id: what makes a second delivery recognisable. */
  sourceId: string;
  input: WorkflowInput<I>;
  /** The input's own time: timers scheduled `afterMs` are due that long after it. */
  at: Date;
  source?: InputAcceptedData['source'];
}

/** What became of an input. */
export type AcceptOutcome =
  | { outcome: 'accepted'; version: number; outputs: number; conflicts: number }
  | { outcome: 'duplicate' | 'completed'; version: number; conflicts: number };

/** The data of `WorkflowCommandIssued`. */
export interface CommandIssuedData {
  /** `<log stream>/<log version>`: the same on every replay, so the receiver can absorb a second delivery. */
  commandId: string;
  command: { type: string; data: unknown; metadata?: EventMetadata };
}

/** Retries of a log append that lost the race to another input of the same instance. */
const CONFLICT_RETRIES: RetryPolicy = { immediateRetries: 3, backoffRetries: 8, initialDelayMs: 5, maxDelayMs: 200 };

/**
 * Takes one input into an instance: loads its log through `store` (a handler's view, so the
 * transaction's own appends count), absorbs an input it accepted before, decides, and appends
 * the input and the outputs to the log with optimistic concurrency (a lost race reloads and
 * decides again; with pending timers, their rows are locked first, see `lockTimers`); then,
 * in the same transaction, the timer rows, the lock rows, the instance row and the events for
 * other streams. An `acquire` output is answered before the append, by the lock rows, with one
 * more input (`LockAcquired` / `LockBusy`) decided in the same log append.
 *
 * @example
 * await acceptInput(workflow, context.store, workflowTablesFor(store).writes(context.sql), 'order-1', { sourceId: event.id, input, at: event.recordedAt })
 */
export async function acceptInput<S, I extends EventShape, C extends EventShape, E extends EventShape>(
  workflow: Workflow<S, I, C, E>,
  store: EventStore,
  tables: WorkflowTableWrites,
  instanceId: string,
  incoming: IncomingInput<I>,
  options: { lockTimers?: boolean; retryConflicts?: boolean } = {},
): Promise<AcceptOutcome> {
  const streamId = workflowStreamId(workflow.name, instanceId);
  const delays = retryDelays(CONFLICT_RETRIES);
  let locked = options.lockTimers === false;
  for (let conflicts = 0; ; conflicts++) {
    const log: RecordedEvent[] = [];
    for await (const event of store.readStream(streamId)) log.push(event);
    const folded = foldWorkflowLog(workflow, log);
    if (folded.accepted.has(incoming.sourceId)) return { outcome: 'duplicate', version: folded.version, conflicts };
    if (folded.status === 'completed') return { outcome: 'completed', version: folded.version, conflicts };
    const plan = new LogPlan(streamId, folded, incoming);
    // An `acquire` is answered at once (the lock rows, in this transaction) by one more input: the chain ends when none is asked.
    let state = folded.state;
    let outputs = 0;
    const queue: IncomingInput<I>[] = [incoming];
    for (let next = queue.shift(); next && !plan.completed; next = queue.shift()) {
      const decided = workflow.decide(next.input, state);
      outputs += decided.length;
      state = workflow.evolve(state, next.input);
      for (const lock of plan.add(next, decided)) {
        const outcome = await tables.acquireLock({ resource: lock.resource, workflow: workflow.name, instanceId, policy: lock.policy ?? 'fail', ...(lock.expiresAfterMs !== undefined ? { expiresAfterMs: lock.expiresAfterMs } : {}), now: incoming.at });
        queue.push(plan.lockAnswer(lock, outcome, incoming.at) as IncomingInput<I>);
      }
    }
    if (!locked && folded.timers.size > 0) {
      await tables.lockTimers(workflow.name, instanceId);
      locked = true;
    }
    try {
      await store.append(streamId, plan.log, { expectedVersion: folded.version === 0 ? 'no_stream' : folded.version });
    } catch (error) {
      // Without a SQL session (the memory store) a refused append fails the handler's whole draft:
      // the subscription's retry then decides again, on a fresh one.
      if (!isConcurrencyError(error) || options.retryConflicts === false || conflicts >= delays.length) throw error;
      await sleep(delays[conflicts]!);
      continue;
    }
    const version = folded.version + plan.log.length;
    for (const write of plan.writes) {
      if (write.kind === 'schedule') await tables.scheduleTimer({ workflow: workflow.name, instanceId, ...write.timer });
      else if (write.kind === 'cancel') await tables.cancelTimer(workflow.name, instanceId, write.timer);
      else if (write.kind === 'release') await tables.releaseLocks(workflow.name, instanceId, write.resource, `${streamId}/${version}`, incoming.at);
      else await store.append(write.streamId, [write.event]);
    }
    const phase = workflow.phase?.(state);
    await tables.saveInstance({ workflow: workflow.name, instanceId, status: plan.completed ? 'completed' : 'running', ...(phase !== undefined ? { phase } : {}), version });
    return { outcome: 'accepted', version, outputs, conflicts };
  }
}

type Write =
  | { kind: 'schedule'; timer: { timer: string; dueAt: Date; fireId: string; payload?: JsonValue } }
  | { kind: 'cancel'; timer: string }
  /** `resource` undefined: all of the instance's (it completed). */
  | { kind: 'release'; resource: string | undefined }
  | { kind: 'event'; streamId: string; event: NewEvent };

/** The log events for one input (and the lock answers chained to it) and the writes that go with them. Ids are deterministic per input. */
class LogPlan {
  readonly log: NewEvent[] = [];
  readonly writes: Write[] = [];
  completed = false;
  private readonly timers: Set<string>;
  private readonly locks: Set<string>;
  private readonly metadata: EventMetadata;

  constructor(
    private readonly streamId: string,
    private readonly folded: FoldedInstance<unknown>,
    private readonly incoming: IncomingInput<EventShape>,
  ) {
    this.timers = new Set(folded.timers.keys());
    this.locks = new Set(folded.locks);
    this.metadata = { correlationId: (incoming.input.metadata?.correlationId as string | undefined) ?? streamId, causationId: incoming.sourceId };
  }

  // Ids come from the input, not the version: a racing writer's events at the same versions must never look like ours.
  private id(index: number, kind = 'log'): string {
    return handlerEventId(`workflow-${kind}`, `${this.streamId}\u0000${this.incoming.sourceId}`, 0, index);
  }

  private push(type: string, data: unknown): number {
    this.log.push({ id: this.id(this.log.length), type, data, metadata: this.metadata });
    return this.folded.version + this.log.length;
  }

  /** The input and its outputs; returns the locks they ask for, to be answered by `lockAnswer`. */
  add(next: IncomingInput<EventShape>, outputs: WorkflowOutput<EventShape, EventShape>[]): AcquireLock[] {
    const accepted: InputAcceptedData = { sourceId: next.sourceId, input: next.input as InputAcceptedData['input'], at: next.at.toISOString(), ...(next.source ? { source: next.source } : {}) };
    this.push(WORKFLOW_LOG_TYPES.inputAccepted, accepted);
    if (next.input.type === 'TimerFired') this.timers.delete((next.input.data as { timer: string }).timer);
    const asked: AcquireLock[] = [];
    for (const output of outputs) {
      switch (output.kind) {
        case 'command': {
          const commandId = `${this.streamId}/${output.key ?? this.folded.version + this.log.length + 1}`;
          const command = { ...output.command, metadata: { ...output.command.metadata, commandId, correlationId: this.metadata.correlationId!, causationId: next.sourceId } };
          this.push(WORKFLOW_LOG_TYPES.commandIssued, { commandId, command } satisfies CommandIssuedData);
          break;
        }
        case 'event': {
          const eventId = this.id(this.log.length, 'event');
          this.push(WORKFLOW_LOG_TYPES.eventPublished, { streamId: output.streamId, eventId, event: output.event });
          this.writes.push({ kind: 'event', streamId: output.streamId, event: { ...output.event, id: eventId, metadata: { ...this.metadata, ...output.event.metadata } } });
          break;
        }
        case 'schedule': {
          const dueAt = output.at !== undefined ? new Date(output.at) : new Date(next.at.getTime() + (output.afterMs ?? 0));
          const fireId = timerFireId(output.timer, this.folded.version + this.log.length + 1);
          this.push(WORKFLOW_LOG_TYPES.timerScheduled, { timer: output.timer, dueAt: dueAt.toISOString(), fireId, ...(output.payload !== undefined ? { payload: output.payload } : {}) });
          this.writes.push({ kind: 'schedule', timer: { timer: output.timer, dueAt, fireId, ...(output.payload !== undefined && output.payload !== null ? { payload: output.payload } : {}) } });
          this.timers.add(output.timer);
          break;
        }
        case 'cancel':
          if (!this.timers.delete(output.timer)) break;
          this.push(WORKFLOW_LOG_TYPES.timerCancelled, { timer: output.timer });
          this.writes.push({ kind: 'cancel', timer: output.timer });
          break;
        case 'acquire':
          asked.push(output);
          break;
        case 'release':
          // Also leaves the line when only queued: the log may not know it as held.
          if (this.locks.delete(output.resource)) this.push(WORKFLOW_LOG_TYPES.lockReleased, { resource: output.resource });
          this.writes.push({ kind: 'release', resource: output.resource });
          break;
        case 'complete':
          // A completed instance keeps no timers and no locks: each is let go, on the record.
          for (const timer of this.timers) {
            this.push(WORKFLOW_LOG_TYPES.timerCancelled, { timer, reason: 'completed' });
            this.writes.push({ kind: 'cancel', timer });
          }
          this.timers.clear();
          for (const resource of this.locks) this.push(WORKFLOW_LOG_TYPES.lockReleased, { resource, reason: 'completed' });
          this.locks.clear();
          this.writes.push({ kind: 'release', resource: undefined });
          this.push(WORKFLOW_LOG_TYPES.completed, output.result !== undefined ? { result: output.result } : {});
          this.completed = true;
          break;
      }
      if (this.completed) break;
    }
    return asked;
  }

  /** Records what the lock rows said, and returns it as the next input. */
  lockAnswer(lock: AcquireLock, outcome: LockOutcome, at: Date): IncomingInput<EventShape> {
    const sourceId = `${this.incoming.sourceId}/lock:${lock.resource}@${this.folded.version + this.log.length + 1}`;
    if (outcome.acquired) {
      if (!this.locks.has(lock.resource)) this.push(WORKFLOW_LOG_TYPES.lockAcquired, { resource: lock.resource, ...(outcome.expiresAt ? { expiresAt: outcome.expiresAt.toISOString() } : {}) });
      this.locks.add(lock.resource);
      return { sourceId, input: { type: 'LockAcquired', data: { resource: lock.resource } }, at };
    }
    const { workflow, instanceId, expiresAt } = outcome.holder;
    const holder: LockHolder = { workflow, instanceId, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) };
    return { sourceId, input: { type: 'LockBusy', data: { resource: lock.resource, holder, queued: outcome.queued } }, at };
  }
}
