import type { EventStore } from '../core/event-store.js';
import type { EventShape, JsonValue, RecordedEvent } from '../core/message.js';
import type { Workflow } from './workflow.js';
import { foldWorkflowLog, workflowStreamId } from './workflow-log.js';
import { workflowTablesFor, type WorkflowInstanceRow, type WorkflowTables, type WorkflowTimer } from './workflow-tables.js';

/** One instance, in full. */
export interface WorkflowInstanceDetails<State> {
  workflow: string;
  instanceId: string;
  streamId: string;
  status: 'running' | 'completed';
  /** What `complete(result)` gave. */
  result?: JsonValue;
  /** The fold of the log's inputs. */
  state: State;
  version: number;
  /** Every input accepted and every output produced, in order. */
  log: RecordedEvent[];
  /** Its pending timers, as the timer table holds them. */
  timers: WorkflowTimer[];
}

/**
 * What operators (and the CLI and dashboard) ask of a workflow: instances by status, one
 * instance's log, state and timers, the pending timers. Reads only; works without a runner.
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

  /** Instances, oldest change first; by status when given. */
  instances(options: { status?: WorkflowInstanceRow['status']; limit?: number } = {}): Promise<WorkflowInstanceRow[]> {
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
      ...(folded.result !== undefined ? { result: folded.result } : {}),
      state: folded.state,
      version: folded.version,
      log,
      timers: await this.tables.timers(this.workflow.name, { instanceId }),
    };
  }

  /** Pending timers, earliest due first. */
  timers(options: { instanceId?: string; limit?: number } = {}): Promise<WorkflowTimer[]> {
    return this.tables.timers(this.workflow.name, options);
  }
}
