import { tracedStep } from '../core/telemetry/spans.js';
import type { Logger } from '../core/logger.js';
import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { EventShape, RecordedEvent, RecordedOf } from '../core/message.js';
import type { RetryPolicy } from '../core/retry-policy.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { sleep } from '../core/sleep.js';
import { Subscription, type HandlerContext, type SubscriptionStatus } from '../consumers/subscription.js';
import { acceptInput, type CommandIssuedData } from './accept-input.js';
import { TimerService, type TimerServiceStatus } from './timer-service.js';
import type { Workflow, WorkflowInput, WorkflowMessage } from './workflow.js';
import { WORKFLOW_LOG_TYPES, workflowStreamId } from './workflow-log.js';
import { WorkflowQueries, type WorkflowInstanceDetails } from './workflow-queries.js';
import { workflowTablesFor, type WorkflowTables } from './workflow-tables.js';

/** What a command handler gets beside the command. */
export interface WorkflowCommandContext {
  /**
   * Deterministic: `<log stream>/<log version>` (or `<log stream>/<key>` when the workflow named it,
   * as sagas do: `<step>/<attempt>`), the same on every delivery of this command.
   * Delivery is at-least-once (a crash after the handler ran, before the checkpoint moved, hands
   * it over again): record this id with the effect (an `Inbox`, a unique column) and skip it when
   * seen. Also in `command.metadata.commandId`.
   */
  commandId: string;
  workflow: string;
  instanceId: string;
  /** 1 for the first delivery, then 2, 3, ... on retries. */
  attempt: number;
  /**
   * The store inside the dispatch's transaction (SQL stores): appends through it (and
   * `handleCommand(context.store, ...)`) commit with the dispatch's checkpoint, so an effect kept
   * in the same database happens exactly once without an inbox of its own.
   */
  store: EventStore;
  /** The dispatch's transaction, on SQL stores: write your rows through it. */
  sql?: SqlQueryable;
}

/** Handles one command a workflow sent; throwing means "failed" (retries, then a dead letter). */
export type WorkflowCommandHandler<C extends EventShape> = (command: WorkflowMessage<C>, context: WorkflowCommandContext) => Promise<void> | void;

/** One handler per command type. */
export type WorkflowCommandHandlers<C extends EventShape> = { [T in C['type']]: WorkflowCommandHandler<Extract<C, { type: T }>> };

/** Options of `WorkflowRunner`. */
export interface WorkflowRunnerOptions<C extends EventShape> {
  /** In-process handlers of the commands the workflow sends. Without them, commands stay in the log for a runner elsewhere. */
  handlers?: WorkflowCommandHandlers<C>;
  /** Run the durable timers in this runner (true by default); several runners may, they share the work. */
  timers?: boolean;
  /** Only the inputs (and commands) of streams in this partition: several runners, one partition each, in parallel. */
  partition?: { index: number; count: number };
  /**
   * Where the inputs begin when the runner has no checkpoint yet: `'start'` (default: every
   * past input of the declared types is taken in) or `'end'` (only inputs appended from now on).
   */
  from?: 'start' | 'end';
  /** For inputs and for commands. */
  retry?: RetryPolicy;
  /** Fallback polling of the subscriptions and the longest sleep of the timers; 1,000 ms by default. */
  pollIntervalMs?: number;
  batchSize?: number;
  onError?: (error: unknown, event?: RecordedEvent) => void;
  /** Where errors, dead letters and state changes are logged (pino-compatible); silent by default. */
  logger?: Logger;
}

/** Where a runner stands. */
export interface WorkflowRunnerStatus {
  name: string;
  state: SubscriptionStatus['state'];
  inputs: SubscriptionStatus;
  commands?: SubscriptionStatus;
  timers?: TimerServiceStatus;
  /** Inputs taken into a log, inputs absorbed as seen before, inputs after completion (ignored), log appends that lost a race and were decided again. */
  counts: { accepted: number; duplicates: number; afterCompletion: number; conflicts: number; commands: number };
}

/**
 * Runs a workflow: a subscription over `$all` takes each input (by type) into its instance's
 * log, in the subscription's transaction (load the log, absorb what it holds already, decide,
 * append input and outputs with optimistic concurrency, write timer rows and events for other
 * streams); a second subscription, over the logs' `WorkflowCommandIssued` events, hands each
 * command to its handler (the log is the outbox: a crash after the append loses nothing, a crash
 * after the handler ran delivers it again, with the same `commandId`); a `TimerService` fires
 * the durable timers. Instances run in parallel; one instance takes one input at a time.
 *
 * @example
 * const runner = new WorkflowRunner(store, checkout, {
 *   handlers: { SendReminder: async (command, { commandId }) => mailer.send(commandId, command.data) },
 * })
 * await runner.start()
 * const { lastPosition } = await store.append('order-1', [{ type: 'OrderPlaced', data: { orderId: '1' } }])
 * await runner.waitFor(lastPosition)
 * console.log((await runner.queries.instance('1'))?.status)
 * await runner.stop()
 */
export class WorkflowRunner<S, I extends EventShape, C extends EventShape, E extends EventShape> {
  readonly name: string;
  /** Instances, logs, states and timers, for operators. */
  readonly queries: WorkflowQueries<S, I>;
  private readonly tables: WorkflowTables;
  private readonly inputs: Subscription;
  private readonly commands?: Subscription;
  private readonly timers?: TimerService;
  private readonly counts = { accepted: 0, duplicates: 0, afterCompletion: 0, conflicts: 0, commands: 0 };

  constructor(
    readonly store: EventStore,
    readonly workflow: Workflow<S, I, C, E>,
    private readonly options: WorkflowRunnerOptions<C> = {},
  ) {
    this.name = workflow.name;
    this.tables = workflowTablesFor(store);
    this.queries = new WorkflowQueries(store, workflow);
    const part = options.partition;
    const shared = {
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      runnerKind: 'workflow',
      ...(part ? { partition: part } : {}),
    };
    const named = (name: string) => ({ name, ...(part ? { checkpointName: `${name}#${part.index}/${part.count}` } : {}) });
    this.inputs = new Subscription(store, { ...named(`workflow:${workflow.name}`), ...shared, ...(options.from ? { from: options.from } : {}), filter: { types: [...workflow.inputs] }, handler: (event, context) => this.accept(event, context) });
    if (options.handlers) {
      const prefix = workflowStreamId(workflow.name, '');
      this.commands = new Subscription(store, {
        ...named(`workflow:${workflow.name}:commands`),
        ...shared,
        filter: { types: [WORKFLOW_LOG_TYPES.commandIssued] },
        handler: (event, context) => (event.streamId.startsWith(prefix) ? this.dispatch(event, event.streamId.slice(prefix.length), context) : undefined),
      });
    }
    if (options.timers !== false) {
      this.timers = new TimerService(store, workflow, {
        ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
        ...(options.onError ? { onError: (error: unknown) => options.onError!(error) } : {}),
      });
    }
  }

  /** Starts the inputs, the command dispatch and the timers; resolves once they run. */
  async start(): Promise<this> {
    await this.inputs.start();
    await this.commands?.start();
    await this.timers?.start();
    return this;
  }

  /** Stops after the work in hand; what is left (inputs, commands, timers) waits in the store for the next start. */
  async stop(): Promise<void> {
    await this.timers?.stop();
    await this.commands?.stop();
    await this.inputs.stop();
  }

  status(): WorkflowRunnerStatus {
    const inputs = this.inputs.status();
    const commands = this.commands?.status();
    const failed = inputs.state === 'failed' || commands?.state === 'failed';
    return {
      name: this.name,
      state: failed ? 'failed' : inputs.state,
      inputs,
      ...(commands ? { commands } : {}),
      ...(this.timers ? { timers: this.timers.status() } : {}),
      counts: { ...this.counts },
    };
  }

  /**
   * Resolves once every input up to `position` is in its log and, when this runner dispatches
   * commands, every command those inputs sent has been handled. Rejects with `WAIT_TIMEOUT`
   * after `timeoutMs` (5 s by default).
   */
  async waitFor(position: bigint, options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    await this.inputs.waitFor(position, options);
    // The logs' appends of those inputs committed before the checkpoint passed them: they are below the head now.
    if (this.commands) await this.commands.waitFor(await this.store.headPosition(), { timeoutMs: Math.max(1, deadline - Date.now()) });
  }

  /**
   * Resolves with the instance once it has completed (looked up every 20 ms: for tests, examples
   * and scripts, not for hot paths). Rejects with `WAIT_TIMEOUT` after `timeoutMs` (5 s by default).
   */
  async waitForCompletion(instanceId: string, options: { timeoutMs?: number } = {}): Promise<WorkflowInstanceDetails<S>> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const instance = await this.queries.instance(instanceId);
      if (instance?.status === 'completed') return instance;
      if (Date.now() > deadline) {
        throw new FactumError('WAIT_TIMEOUT', `Workflow "${this.name}" instance "${instanceId}" did not complete within ${timeoutMs} ms`, { details: { instanceId, timeoutMs, status: instance?.status ?? 'none' } });
      }
      await sleep(20);
    }
  }

  /** Fires the timers due now (also done by the running timer service); resolves to how many fired. */
  fireDueTimers(): Promise<number> {
    if (!this.timers) throw new FactumError('INVALID_ARGUMENT', `Workflow runner "${this.name}" runs no timers (option timers: false)`);
    return this.timers.fireDue();
  }

  private async accept(event: RecordedEvent, context: HandlerContext): Promise<void> {
    const instanceId = this.workflow.id(event as RecordedOf<I>);
    if (instanceId === undefined) return;
    const writes = this.tables.writes(context.sql);
    void context.committed.then((committed) => writes.end(committed));
    const input = { type: event.type, data: event.data, ...(Object.keys(event.metadata).length > 0 ? { metadata: event.metadata } : {}) } as WorkflowInput<I>;
    const step = { 'factum.workflow.name': this.name, 'factum.workflow.instance': instanceId, 'factum.workflow.input': event.type };
    const result = await tracedStep(`step ${this.name}`, step, () =>
      acceptInput(this.workflow, context.store, writes, instanceId, {
        sourceId: event.id,
        input,
        at: event.recordedAt,
        source: { streamId: event.streamId, streamVersion: event.streamVersion, globalPosition: event.globalPosition.toString() },
      }, { retryConflicts: context.sql !== undefined }),
    );
    this.counts.conflicts += result.conflicts;
    if (result.outcome === 'accepted') this.counts.accepted++;
    else if (result.outcome === 'duplicate') this.counts.duplicates++;
    else this.counts.afterCompletion++;
  }

  private async dispatch(event: RecordedEvent, instanceId: string, context: HandlerContext): Promise<void> {
    const { commandId, command } = event.data as CommandIssuedData;
    const handler = (this.options.handlers as unknown as Record<string, WorkflowCommandHandler<EventShape> | undefined>)[command.type];
    if (!handler) {
      throw new FactumError('INVALID_ARGUMENT', `Workflow "${this.name}" sent a command "${command.type}" that no handler of this runner takes`, { details: { commandId, type: command.type } });
    }
    await handler(command as WorkflowMessage<EventShape>, {
      commandId,
      workflow: this.name,
      instanceId,
      attempt: context.attempt,
      store: context.store,
      ...(context.sql ? { sql: context.sql } : {}),
    });
    this.counts.commands++;
  }
}
