import { FactumError } from '../core/errors.js';
import type { EventMetadata, EventShape, JsonValue, RecordedOf } from '../core/message.js';

/** A message as a workflow sees it, live and on replay alike: type, data and metadata. */
export type WorkflowMessage<M extends EventShape> = M extends unknown ? { type: M['type']; data: M['data']; metadata?: EventMetadata } : never;

/**
 * The input a durable timer delivers when it fires. `latenessMs` is how long after `dueAt` it
 * fired (0 when on time; more when the process was down or busy).
 */
export interface TimerFired {
  type: 'TimerFired';
  data: { timer: string; dueAt: string; firedAt: string; latenessMs: number; payload?: JsonValue };
  metadata?: EventMetadata;
}

/** Who holds a semantic lock. */
export interface LockHolder {
  workflow: string;
  instanceId: string;
  /** When its hold lapses (ISO 8601), if it was taken with an expiry. */
  expiresAt?: string;
}

/**
 * The answer to an `acquire` output, delivered as the next input in the same transaction: the
 * lock is now held by this instance (`LockAcquired`), or another instance holds it (`LockBusy`;
 * with the `'queue'` policy this instance is in line and, when the holder lets go, the lock is
 * handed to it and a `TimerFired` input named `lock:<resource>` wakes it: acquire again then).
 */
export type LockResult =
  | { type: 'LockAcquired'; data: { resource: string }; metadata?: EventMetadata }
  | { type: 'LockBusy'; data: { resource: string; holder: LockHolder; queued: boolean }; metadata?: EventMetadata };

/** What `decide` and `evolve` receive: one of the declared inputs, a fired timer, or the answer to an `acquire`. */
export type WorkflowInput<I extends EventShape> = WorkflowMessage<I> | TimerFired | LockResult;

/** Sends a command to the handler registered for its type (see `WorkflowRunner`). */
export interface SendCommand<C extends EventShape> {
  kind: 'command';
  command: WorkflowMessage<C>;
  /**
   * Names the command within its instance: its `commandId` is then `<log stream>/<key>` (a saga's
   * `<log stream>/<step>/<attempt>`), otherwise `<log stream>/<log version>`. Either way the same
   * on every replay, so the receiver's inbox absorbs a second delivery.
   */
  key?: string;
}

/** Appends an event to another stream, in the same transaction as the workflow's log on SQL stores. */
export interface PublishEvent<E extends EventShape> {
  kind: 'event';
  streamId: string;
  event: WorkflowMessage<E>;
}

/**
 * Schedules (or reschedules: one timer per name and instance) a durable timer, due `afterMs`
 * after the input's own time (its `recordedAt`, or a timer's `firedAt`), or at `at`. The due time
 * is computed once and recorded in the log, so a replay never moves it.
 */
export interface ScheduleTimer {
  kind: 'schedule';
  timer: string;
  afterMs?: number;
  at?: string;
  payload?: JsonValue;
}

/** Cancels a pending timer (nothing happens if it fired or never existed). */
export interface CancelTimer {
  kind: 'cancel';
  timer: string;
}

/**
 * Takes a semantic lock on a named resource ("order 42 pending payment") for this instance,
 * visible to every workflow of the store, until it is released (by `release`, or when the
 * instance completes) or its hold expires (`expiresAfterMs`: another instance may then take it
 * over). The answer is a `LockResult` input. When another instance holds it, `policy` says what
 * happens: `'fail'` (the default) only answers `LockBusy`; `'queue'` also puts this instance in
 * line, first come first served.
 */
export interface AcquireLock {
  kind: 'acquire';
  resource: string;
  policy?: 'fail' | 'queue';
  expiresAfterMs?: number;
}

/** Lets go of a semantic lock (or leaves its queue); the first in line is handed it. */
export interface ReleaseLock {
  kind: 'release';
  resource: string;
}

/** Ends the instance: later inputs are ignored, its pending timers are cancelled and its locks released. */
export interface CompleteWorkflow {
  kind: 'complete';
  result?: JsonValue;
}

/** What `decide` returns, as a list: commands, events, timer schedules and cancels, locks, completion. */
export type WorkflowOutput<C extends EventShape, E extends EventShape> = SendCommand<C> | PublishEvent<E> | ScheduleTimer | CancelTimer | AcquireLock | ReleaseLock | CompleteWorkflow;

/**
 * A workflow: a decider over messages. Each instance (named by `id(input)`) folds the inputs it
 * accepted into its state with `evolve`; `decide` answers each new input with outputs. Both are
 * pure: outputs follow from the input and the state, so the state is the fold of the inputs
 * (the outputs are recorded in the log for inspection and for at-least-once dispatch, never re-decided).
 */
export interface WorkflowDefinition<State, I extends EventShape, C extends EventShape = never, E extends EventShape = never> {
  /** Names the log streams (`workflow-<name>-<id>`), subscriptions and timer rows: keep it stable. No dashes. */
  name: string;
  /** The event types this workflow takes as inputs (the runner's `$all` filter). */
  inputs: readonly I['type'][];
  /** The instance an input belongs to, or undefined when it belongs to none (it is then ignored). */
  id: (input: RecordedOf<I>) => string | undefined;
  initialState: () => State;
  evolve: (state: State, input: WorkflowInput<I>) => State;
  /** Pure: decided on the state before `input`; the state then becomes `evolve(state, input)`. */
  decide: (input: WorkflowInput<I>, state: State) => WorkflowOutput<C, E>[];
  /**
   * A finer status than running / completed, for operators (a saga's `compensating`, say):
   * stored with the instance, so `queries.instances({ phase })` lists by it.
   */
  phase?: (state: State) => string;
}

/** A defined workflow (see `defineWorkflow`). */
export type Workflow<State, I extends EventShape, C extends EventShape = never, E extends EventShape = never> = Readonly<WorkflowDefinition<State, I, C, E>>;

/**
 * Checks and freezes a workflow definition.
 *
 * @example
 * type Placed = { type: 'OrderPlaced'; data: { orderId: string } }
 * type Paid = { type: 'PaymentReceived'; data: { orderId: string } }
 * type Remind = { type: 'SendReminder'; data: { orderId: string } }
 * const checkout = defineWorkflow<{ orderId?: string }, Placed | Paid, Remind>({
 *   name: 'checkout',
 *   inputs: ['OrderPlaced', 'PaymentReceived'],
 *   id: (event) => event.data.orderId,
 *   initialState: () => ({}),
 *   evolve: (state, input) => (input.type === 'OrderPlaced' ? { orderId: input.data.orderId } : state),
 *   decide: (input, state) => {
 *     if (input.type === 'OrderPlaced') return [schedule('reminder', { afterMs: 60_000 })]
 *     if (input.type === 'TimerFired') return [send({ type: 'SendReminder', data: { orderId: state.orderId! } })]
 *     return [cancel('reminder'), complete()]
 *   },
 * })
 */
export function defineWorkflow<State, I extends EventShape, C extends EventShape = never, E extends EventShape = never>(definition: WorkflowDefinition<State, I, C, E>): Workflow<State, I, C, E> {
  if (!/^[A-Za-z0-9_.]+$/.test(definition.name)) {
    throw new FactumError('INVALID_ARGUMENT', `A workflow name is letters, digits, "_" and "." (it names streams "workflow-<name>-<id>"), got "${definition.name}"`);
  }
  if (definition.inputs.length === 0) throw new FactumError('INVALID_ARGUMENT', `Workflow "${definition.name}" declares no inputs`);
  for (const delivered of ['TimerFired', 'LockAcquired', 'LockBusy']) {
    if ((definition.inputs as readonly string[]).includes(delivered)) throw new FactumError('INVALID_ARGUMENT', `Workflow "${definition.name}": "${delivered}" is delivered by the runner, not declared as an input`);
  }
  return Object.freeze({ ...definition, inputs: Object.freeze([...definition.inputs]) });
}

/**
 * Output helpers for `decide`.
 *
 * @example
 * decide: (input) => [send({ type: 'ReserveStock', data: { sku: 'a' } }), schedule('timeout', { afterMs: 30_000 })]
 * send({ type: 'ChargeCard', data: { amount: 5 } }, { key: 'charge/2' }) // commandId '<log stream>/charge/2'
 */
export function send<C extends EventShape>(command: WorkflowMessage<C>, options: { key?: string } = {}): SendCommand<C> {
  return options.key === undefined ? { kind: 'command', command } : { kind: 'command', command, key: options.key };
}

/**
 * An event for another stream.
 *
 * @example
 * decide: () => [publish('order-1', { type: 'OrderConfirmed', data: {} })]
 */
export function publish<E extends EventShape>(streamId: string, event: WorkflowMessage<E>): PublishEvent<E> {
  return { kind: 'event', streamId, event };
}

/**
 * A durable timer (see `ScheduleTimer`).
 *
 * @example
 * decide: () => [schedule('payment-timeout', { afterMs: 15 * 60_000, payload: { reason: 'unpaid' } })]
 */
export function schedule(timer: string, when: { afterMs: number; payload?: JsonValue } | { at: Date | string; payload?: JsonValue }): ScheduleTimer {
  const payload = when.payload !== undefined ? { payload: when.payload } : {};
  if ('at' in when) return { kind: 'schedule', timer, at: new Date(when.at).toISOString(), ...payload };
  return { kind: 'schedule', timer, afterMs: when.afterMs, ...payload };
}

/**
 * Cancels a pending timer.
 *
 * @example
 * decide: (input) => (input.type === 'PaymentReceived' ? [cancel('payment-timeout')] : [])
 */
export function cancel(timer: string): CancelTimer {
  return { kind: 'cancel', timer };
}

/**
 * Completes the instance.
 *
 * @example
 * decide: () => [complete({ outcome: 'paid' })]
 */
export function complete(result?: JsonValue): CompleteWorkflow {
  return result === undefined ? { kind: 'complete' } : { kind: 'complete', result };
}

/**
 * Takes a semantic lock (see `AcquireLock`); the answer comes as a `LockResult` input.
 *
 * @example
 * decide: (input) => (input.type === 'OrderPlaced' ? [acquire(`order-${input.data.orderId}`, { policy: 'queue', expiresAfterMs: 60_000 })] : [])
 */
export function acquire(resource: string, options: { policy?: 'fail' | 'queue'; expiresAfterMs?: number } = {}): AcquireLock {
  return { kind: 'acquire', resource, ...options };
}

/**
 * Releases a semantic lock.
 *
 * @example
 * decide: (input) => (input.type === 'PaymentReceived' ? [release('order-42')] : [])
 */
export function release(resource: string): ReleaseLock {
  return { kind: 'release', resource };
}
