import type { EventStore } from '../core/event-store.js';
import type { EventShape, JsonValue, RecordedEvent } from '../core/message.js';
import type { Workflow } from './workflow.js';
import { foldWorkflowLog, workflowStreamId } from './workflow-log.js';
import { workflowTablesFor, type SemanticLock, type WorkflowInstanceRow, type WorkflowTables, type WorkflowTimer } from './workflow-tables.js';

/** One instance, in full. */
export interface WorkflowInstanceDetails<State> {
  workflow: string;
  instanceId: string;
  streamId: string;
  status: 'running' | 'completed';
  /** The workflow's finer status (a saga: running, compensating, completed, compensated, failed), when it declares one. */
  phase?: string;
  /** What `complete(result)` gave. */
  result?: JsonValue;
  /** The fold of the log's inputs. */
  state: State;
  version: number;
  /** Every input accepted and every output produced, in order. */
  log: RecordedEvent[];
  /** Its pending timers, as the timer table holds them. */
  timers: WorkflowTimer[];
  /** The semantic locks it holds or waits for, as the lock table holds them. */
  locks: SemanticLock[];
}

/**
 * What operators (and the CLI and dashboard) ask of a workflow: instances by status or phase,
 * one instance's log, state, timers and locks, the pending timers, the locks held and queued.
 * Reads only; works without a runner.
 *
 * @example
 * const queries = new WorkflowQueries(store, checkout)
 * for (const row of await queries.instances({ status: 'running' })) console.log(row.instanceId, row.version)
 * const one = await queries.instance('order-1')
 * console.log(one?.state, one?.log.map((e) => e.type))
 */
export class WorkflowQueries<State, I extends EventShape> {
  private readonly tables: WorkflowTables;

  constructor(
    readonly store: EventStore,
    readonly workflow: Workflow<State, I, any, any>,
  ) {
    this.tables = workflowTablesFor(store);
  }

  /** Instances, oldest change first; by status or phase (see `WorkflowDefinition.phase`) when given. */
  instances(options: { status?: WorkflowInstanceRow['status']; phase?: string; limit?: number } = {}): Promise<WorkflowInstanceRow[]> {
    return this.tables.instances(this.workflow.name, options);
  }

  /** One instance folded from its log, or undefined when it has none. */
  async instance(instanceId: string): Promise<WorkflowInstanceDetails<State> | undefined> {
    const streamId = workflowStreamId(this.workflow.name, instanceId);
    const log: RecordedEvent[] = [];
    for await (const event of this.store.readStream(streamId)) log.push(event);
    if (log.length === 0) return undefined;
    const folded = foldWorkflowLog(this.workflow, log);
    return {
      workflow: this.workflow.name,
      instanceId,
      streamId,
      status: folded.status,
      ...(this.workflow.phase ? { phase: this.workflow.phase(folded.state) } : {}),
      ...(folded.result !== undefined ? { result: folded.result } : {}),
      state: folded.state,
      version: folded.version,
      log,
      timers: await this.tables.timers(this.workflow.name, { instanceId }),
      locks: await this.tables.locks({ workflow: this.workflow.name, instanceId }),
    };
  }

  /**
   * Semantic locks held and queued by this workflow's instances, oldest first; with `resource`,
   * that resource's holder and line whatever workflow they belong to.
   */
  locks(options: { resource?: string; instanceId?: string } = {}): Promise<SemanticLock[]> {
    return this.tables.locks(options.resource !== undefined ? options : { ...options, workflow: this.workflow.name });
  }

  /** Pending timers, earliest due first. */
  timers(options: { instanceId?: string; limit?: number } = {}): Promise<WorkflowTimer[]> {
    return this.tables.timers(this.workflow.name, options);
  }
}
