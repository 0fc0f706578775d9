import { isConcurrencyError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { EventMetadata, EventShape, JsonValue, NewEvent, RecordedEvent } from '../core/message.js';
import { retryDelays, type RetryPolicy } from '../core/retry-policy.js';
import { sleep } from '../core/sleep.js';
import { handlerEventId } from '../consumers/handler-event-id.js';
import type { Workflow, WorkflowInput, WorkflowOutput } from './workflow.js';
import { foldWorkflowLog, timerFireId, WORKFLOW_LOG_TYPES, workflowStreamId, type InputAcceptedData } from './workflow-log.js';
import type { WorkflowTableWrites } from './workflow-tables.js';

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
 * in the same transaction, the timer rows, the instance row and the events for other streams.
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
    const outputs = workflow.decide(incoming.input, folded.state);
    const planned = plan(streamId, folded.version, folded.timers, incoming, outputs);
    if (!locked && folded.timers.size > 0) {
      await tables.lockTimers(workflow.name, instanceId);
      locked = true;
    }
    try {
      await store.append(streamId, planned.log, { expectedVersion: folded.version === 0 ? 'no_stream' : folded.version });
    } catch (error) {
      // Without a SQL session (the memory store) a refused append fails the handler's whole draft:
      // the subscription's retry then decides again, on a fresh one.
      if (!isConcurrencyError(error) || options.retryConflicts === false || conflicts >= delays.length) throw error;
      await sleep(delays[conflicts]!);
      continue;
    }
    const version = folded.version + planned.log.length;
    for (const write of planned.writes) {
      if (write.kind === 'schedule') await tables.scheduleTimer({ workflow: workflow.name, instanceId, ...write.timer });
      else if (write.kind === 'cancel') await tables.cancelTimer(workflow.name, instanceId, write.timer);
      else await store.append(write.streamId, [write.event]);
    }
    await tables.saveInstance({ workflow: workflow.name, instanceId, status: planned.completed ? 'completed' : 'running', version });
    return { outcome: 'accepted', version, outputs: outputs.length, conflicts };
  }
}

type Write =
  | { kind: 'schedule'; timer: { timer: string; dueAt: Date; fireId: string; payload?: JsonValue } }
  | { kind: 'cancel'; timer: string }
  | { kind: 'event'; streamId: string; event: NewEvent };

/** The log events for one input and its outputs, and the writes that go with them. Ids are deterministic per input. */
function plan<C extends EventShape, E extends EventShape>(
  streamId: string,
  version: number,
  pending: Map<string, unknown>,
  incoming: IncomingInput<EventShape>,
  outputs: WorkflowOutput<C, E>[],
): { log: NewEvent[]; writes: Write[]; completed: boolean } {
  const metadata: EventMetadata = { correlationId: (incoming.input.metadata?.correlationId as string | undefined) ?? streamId, causationId: incoming.sourceId };
  // Ids come from the input, not the version: a racing writer's events at the same versions must never look like ours.
  const id = (index: number, kind = 'log'): string => handlerEventId(`workflow-${kind}`, `${streamId}\u0000${incoming.sourceId}`, 0, index);
  const log: NewEvent[] = [];
  const writes: Write[] = [];
  const add = (type: string, data: unknown): number => {
    log.push({ id: id(log.length), type, data, metadata });
    return version + log.length;
  };
  const accepted: InputAcceptedData = { sourceId: incoming.sourceId, input: incoming.input as InputAcceptedData['input'], at: incoming.at.toISOString(), ...(incoming.source ? { source: incoming.source } : {}) };
  add(WORKFLOW_LOG_TYPES.inputAccepted, accepted);
  const timers = new Set(pending.keys());
  if (incoming.input.type === 'TimerFired') timers.delete((incoming.input.data as { timer: string }).timer);
  let completed = false;
  for (const output of outputs) {
    switch (output.kind) {
      case 'command': {
        const at = version + log.length + 1;
        const commandId = `${streamId}/${at}`;
        const command = { ...output.command, metadata: { ...output.command.metadata, commandId, correlationId: metadata.correlationId!, causationId: incoming.sourceId } };
        add(WORKFLOW_LOG_TYPES.commandIssued, { commandId, command } satisfies CommandIssuedData);
        break;
      }
      case 'event': {
        const eventId = id(log.length, 'event');
        add(WORKFLOW_LOG_TYPES.eventPublished, { streamId: output.streamId, eventId, event: output.event });
        writes.push({ kind: 'event', streamId: output.streamId, event: { ...output.event, id: eventId, metadata: { ...metadata, ...output.event.metadata } } });
        break;
      }
      case 'schedule': {
        const dueAt = output.at !== undefined ? new Date(output.at) : new Date(incoming.at.getTime() + (output.afterMs ?? 0));
        const at = version + log.length + 1;
        const fireId = timerFireId(output.timer, at);
        add(WORKFLOW_LOG_TYPES.timerScheduled, { timer: output.timer, dueAt: dueAt.toISOString(), fireId, ...(output.payload !== undefined ? { payload: output.payload } : {}) });
        writes.push({ kind: 'schedule', timer: { timer: output.timer, dueAt, fireId, ...(output.payload !== undefined && output.payload !== null ? { payload: output.payload } : {}) } });
        timers.add(output.timer);
        break;
      }
      case 'cancel':
        if (!timers.delete(output.timer)) break;
        add(WORKFLOW_LOG_TYPES.timerCancelled, { timer: output.timer });
        writes.push({ kind: 'cancel', timer: output.timer });
        break;
      case 'complete':
        // A completed instance keeps no timers: each one still pending is cancelled, on the record.
        for (const timer of timers) {
          add(WORKFLOW_LOG_TYPES.timerCancelled, { timer, reason: 'completed' });
          writes.push({ kind: 'cancel', timer });
        }
        timers.clear();
        add(WORKFLOW_LOG_TYPES.completed, output.result !== undefined ? { result: output.result } : {});
        completed = true;
        break;
    }
    if (completed) break;
  }
  return { log, writes, completed };
}
