import type { EventShape, JsonValue, RecordedEvent } from '../core/message.js';
import type { Workflow, WorkflowInput } from './workflow.js';

/**
 * The stream that is a workflow instance's log.
 *
 * @example
 * workflowStreamId('checkout', '42') // 'workflow-checkout-42'
 */
export function workflowStreamId(workflow: string, instanceId: string): string {
  return `workflow-${workflow}-${instanceId}`;
}

/**
 * The types of a workflow log's events. Inputs are wrapped (`WorkflowInputAccepted`), never
 * copied under their own type: a copy would be an input of the same workflow again.
 *
 * @example
 * new Subscription(store, { name: 'sent-commands', filter: { types: [WORKFLOW_LOG_TYPES.commandIssued] }, handler })
 */
export const WORKFLOW_LOG_TYPES = {
  inputAccepted: 'WorkflowInputAccepted',
  commandIssued: 'WorkflowCommandIssued',
  eventPublished: 'WorkflowEventPublished',
  timerScheduled: 'WorkflowTimerScheduled',
  timerCancelled: 'WorkflowTimerCancelled',
  lockAcquired: 'WorkflowLockAcquired',
  lockReleased: 'WorkflowLockReleased',
  completed: 'WorkflowCompleted',
} as const;

/** Data of `WorkflowInputAccepted`: the input, where it came from, and the time outputs are scheduled from. */
export interface InputAcceptedData {
  /** The event id of the input, or the firing id of a timer: a second delivery of it is absorbed. */
  sourceId: string;
  input: { type: string; data: unknown; metadata?: Record<string, unknown> };
  /** The input's own time (its `recordedAt`, a timer's `firedAt`), ISO 8601. */
  at: string;
  source?: { streamId: string; streamVersion: number; globalPosition: string };
}

/** A pending timer as the log knows it. */
export interface LoggedTimer {
  dueAt: string;
  /** The `sourceId` its firing will carry: the timer's name and the log version that scheduled it. */
  fireId: string;
  payload?: JsonValue;
}

/** An instance folded from its log. */
export interface FoldedInstance<State> {
  state: State;
  /** The log's version (0: no log yet). */
  version: number;
  status: 'running' | 'completed';
  result?: JsonValue;
  /** Inputs accepted so far. */
  inputs: number;
  /** Source ids of every accepted input (the dedupe set). */
  accepted: Set<string>;
  timers: Map<string, LoggedTimer>;
  /** Semantic locks it holds, as its log knows them (a lapsed hold may have been taken over since). */
  locks: Set<string>;
}

/**
 * The firing id of a timer scheduled at `version` of a log.
 *
 * @example
 * timerFireId('payment', 3) // 'timer:payment@3'
 */
export function timerFireId(timer: string, version: number): string {
  return `timer:${timer}@${version}`;
}

/**
 * The timer that wakes an instance waiting in line for a semantic lock, once it is handed the lock.
 *
 * @example
 * lockTimerName('order-42') // 'lock:order-42'
 */
export function lockTimerName(resource: string): string {
  return `lock:${resource}`;
}

/**
 * State = the fold of the log: `evolve` over the accepted inputs, and the runner's own
 * bookkeeping (completion, pending timers, the dedupe set) over everything.
 *
 * @example
 * const { events } = await store.loadStream(workflowStreamId('checkout', '42'))
 * const { state, status, timers } = foldWorkflowLog(checkout, events)
 */
export function foldWorkflowLog<State, I extends EventShape>(workflow: Workflow<State, I, any, any>, events: Iterable<RecordedEvent>): FoldedInstance<State> {
  const folded: FoldedInstance<State> = { state: workflow.initialState(), version: 0, status: 'running', inputs: 0, accepted: new Set(), timers: new Map(), locks: new Set() };
  for (const event of events) {
    folded.version = event.streamVersion;
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case WORKFLOW_LOG_TYPES.inputAccepted: {
        const accepted = data as unknown as InputAcceptedData;
        folded.accepted.add(accepted.sourceId);
        folded.inputs++;
        if (accepted.input.type === 'TimerFired') folded.timers.delete((accepted.input.data as { timer: string }).timer);
        folded.state = workflow.evolve(folded.state, accepted.input as WorkflowInput<I>);
        break;
      }
      case WORKFLOW_LOG_TYPES.timerScheduled:
        folded.timers.set(data.timer as string, { dueAt: data.dueAt as string, fireId: data.fireId as string, ...(data.payload !== undefined ? { payload: data.payload as JsonValue } : {}) });
        break;
      case WORKFLOW_LOG_TYPES.timerCancelled:
        folded.timers.delete(data.timer as string);
        break;
      case WORKFLOW_LOG_TYPES.lockAcquired:
        folded.locks.add(data.resource as string);
        break;
      case WORKFLOW_LOG_TYPES.lockReleased:
        folded.locks.delete(data.resource as string);
        break;
      case WORKFLOW_LOG_TYPES.completed:
        folded.status = 'completed';
        if (data.result !== undefined) folded.result = data.result as JsonValue;
        break;
    }
  }
  return folded;
}
