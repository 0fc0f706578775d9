import { FactumError } from '../core/errors.js';
import { fnv1a32 } from '../core/fnv1a.js';
import type { EventShape, JsonValue, RecordedOf } from '../core/message.js';
import { retryDelays, type RetryPolicy } from '../core/retry-policy.js';
import { acquire, cancel, complete, defineWorkflow, schedule, send, type Workflow, type WorkflowInput, type WorkflowMessage, type WorkflowOutput } from './workflow.js';
import { lockTimerName } from './workflow-log.js';

/** What a step's command (or compensation) is built from: the start event's data and the replies of the steps done so far. */
export interface SagaContext<Start> {
  start: Start;
  /** The data of each completed step's reply, by step name. */
  replies: Record<string, unknown>;
}

/** Types of replies: one, or several. */
type ReplyTypes<R extends EventShape> = R['type'] | readonly R['type'][];

/** How a step (or its compensation) is undone. */
export interface SagaCompensation<Start, R extends EventShape, C extends EventShape> {
  command: (saga: SagaContext<Start>) => WorkflowMessage<C>;
  /**
   * The reply types that mean it is done. Without them it counts as done once sent, and the
   * compensations below it are sent right after it (the command dispatch keeps their order).
   */
  completedOn?: ReplyTypes<R>;
  /** Reply types that mean it failed: retried by `retry`, then the saga is `failed`. */
  failedOn?: ReplyTypes<R>;
  /** The step's timeout and retries by default. */
  timeoutMs?: number;
  retry?: RetryPolicy;
}

/** One step of a saga: a command, the replies that answer it, and how to undo it. */
export interface SagaStep<Start, R extends EventShape, C extends EventShape> {
  /** Names the step in command ids (`<log stream>/<name>/<attempt>`): letters, digits, `_`, `-`, `.`. */
  name: string;
  /** The command that does the step: to an in-process handler, or through the relay to another service. */
  command: (saga: SagaContext<Start>) => WorkflowMessage<C>;
  /** The reply types (events correlated to the saga by its `id`) that mean the step is done. */
  completedOn: ReplyTypes<R>;
  /** The reply types that mean it failed. */
  failedOn?: ReplyTypes<R>;
  /** No reply within this time counts as a failure (a durable timer, so it survives a restart). */
  timeoutMs?: number;
  /** Retries after a failure or timeout, each a new attempt with its own command id; none by default. Delays of 0 resend at once. */
  retry?: RetryPolicy;
  /** Undoes the step when a later one fails for good. A step without one must be last, or followed only by steps that cannot fail. */
  compensation?: SagaCompensation<Start, R, C>;
}

/** A semantic lock the saga takes before its first step and keeps until it ends. */
export interface SagaLock<Start> {
  resource: (saga: SagaContext<Start>) => string;
  /** `'fail'` (default): a held resource ends the saga `failed` at once; `'queue'`: it waits its turn. */
  policy?: 'fail' | 'queue';
  /** The hold lapses after this long (a crashed saga's lock frees itself); measured from when it is taken. */
  expiresAfterMs?: number;
}

/** An orchestrated saga (see `defineSaga`). */
export interface SagaDefinition<Start extends EventShape, R extends EventShape, C extends EventShape> {
  /** As a workflow's name: names its log streams `workflow-<name>-<id>`. */
  name: string;
  /** The event type that starts an instance. */
  start: Start['type'];
  /** The instance the start event and each reply belong to (the saga id they carry). */
  id: (event: RecordedOf<Start | R>) => string | undefined;
  lock?: SagaLock<Start['data']>;
  steps: readonly SagaStep<Start['data'], R, C>[];
}

/** What a saga instance is doing. */
export type SagaStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';

/** A saga instance's state: the fold of its log. */
export interface SagaState<Start> {
  status: SagaStatus;
  /** Before the start event, waiting for its lock, in a step (or its compensation). */
  stage: 'new' | 'locking' | 'step';
  start?: Start;
  replies: Record<string, unknown>;
  /** The step being done, or being compensated. */
  step: number;
  attempt: number;
  /** Waiting for the backoff timer before the next attempt. */
  retrying?: boolean;
  /** An attempt of the current step timed out: it may yet take effect, so undoing the saga undoes it too. */
  inDoubt?: boolean;
  /** The step that failed for good, and how. */
  failure?: { step: string; reason: 'failed' | 'timeout' | 'locked'; reply?: unknown };
}

/** What a finished saga's `result` says. */
export interface SagaResult {
  outcome: 'completed' | 'compensated' | 'failed';
  failure?: SagaState<unknown>['failure'];
  /** The compensation that failed for good (outcome `failed`). */
  compensationFailed?: string;
}

/** A defined saga: a workflow, run by `WorkflowRunner`, read by `WorkflowQueries`, specified by `WorkflowSpecification`. */
export type Saga<Start extends EventShape, R extends EventShape, C extends EventShape> = Workflow<SagaState<Start['data']>, Start | R, C> & { readonly steps: readonly SagaStep<Start['data'], R, C>[] };

const TIMEOUT = 'timeout';
const RETRY = 'retry';

/**
 * Defines an orchestrated saga, compiled to a workflow: steps in order, each a command answered
 * by reply events, with its compensation. When step k fails for good (a failure reply, or its
 * timeout timer, after its retries with backoff), the compensations of steps k-1 … 1 run in
 * reverse order, each waiting for its own reply when it declares one. A step with an attempt that
 * timed out is in doubt (its command may still be carried out, its reply may yet come), so its
 * own compensation runs first: compensations must accept undoing what never happened. Every command carries a
 * deterministic id, `<log stream>/<step>/<attempt>` (`/<step>/compensate/<attempt>` to undo), so
 * a replayed step is absorbed by the receiver's inbox. `phase` is the saga's status: running,
 * compensating, completed, compensated or failed (`queries.instances({ phase: 'compensating' })`).
 * Throws `INVALID_ARGUMENT` for a step without compensation that a failing step follows.
 *
 * @example
 * const checkout = defineSaga<Placed, Reply, Command>({
 *   name: 'checkout',
 *   start: 'OrderPlaced',
 *   id: (event) => event.data.orderId,
 *   lock: { resource: ({ start }) => `order-${start.orderId}`, policy: 'queue', expiresAfterMs: 60_000 },
 *   steps: [
 *     { name: 'reserve', command: ({ start }) => ({ type: 'ReserveStock', data: start }), completedOn: 'StockReserved', failedOn: 'StockRefused',
 *       compensation: { command: ({ start }) => ({ type: 'ReleaseStock', data: start }), completedOn: 'StockReleased' } },
 *     { name: 'charge', command: ({ start }) => ({ type: 'ChargeCard', data: start }), completedOn: 'CardCharged', failedOn: 'CardDeclined',
 *       timeoutMs: 30_000, retry: { immediateRetries: 0, backoffRetries: 3, initialDelayMs: 1000 } },
 *   ],
 * })
 * await new WorkflowRunner(store, checkout, { handlers }).start()
 */
export function defineSaga<Start extends EventShape, R extends EventShape, C extends EventShape>(definition: SagaDefinition<Start, R, C>): Saga<Start, R, C> {
  checkSaga(definition);
  const steps = definition.steps;
  const replies = new Set<string>(steps.flatMap((s) => [...types(s.completedOn), ...types(s.failedOn), ...types(s.compensation?.completedOn), ...types(s.compensation?.failedOn)]));
  const transition = (state: SagaState<Start['data']>, input: WorkflowInput<Start | R>): Transition<Start['data']> => next(definition, state, input);
  const workflow = defineWorkflow<SagaState<Start['data']>, Start | R, C>({
    name: definition.name,
    inputs: [definition.start, ...[...replies].filter((t) => t !== definition.start)] as (Start | R)['type'][],
    id: definition.id,
    initialState: () => ({ status: 'running', stage: 'new', replies: {}, step: 0, attempt: 0 }),
    // One transition gives both: `decide` is its outputs, `evolve` its state, so they never disagree.
    evolve: (state, input) => transition(state, input).state,
    decide: (input, state) => transition(state, input).outputs,
    phase: (state) => state.status,
  });
  return Object.freeze({ ...workflow, steps });
}

interface Transition<S> {
  state: SagaState<S>;
  outputs: WorkflowOutput<any, never>[];
}

function types<R extends EventShape>(replies: ReplyTypes<R> | undefined): string[] {
  if (replies === undefined) return [];
  return typeof replies === 'string' ? [replies] : [...(replies as readonly string[])];
}

function checkSaga<Start extends EventShape, R extends EventShape, C extends EventShape>(definition: SagaDefinition<Start, R, C>): void {
  const fail = (message: string): never => {
    throw new FactumError('INVALID_ARGUMENT', `Saga "${definition.name}": ${message}`);
  };
  if (definition.steps.length === 0) fail('declares no steps');
  const names = new Set<string>();
  definition.steps.forEach((step, index) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(step.name)) fail(`a step name is letters, digits, "_", "-" and "." (it names command ids), got "${step.name}"`);
    if (names.has(step.name)) fail(`two steps are named "${step.name}"`);
    names.add(step.name);
    if (types(step.completedOn).length === 0) fail(`step "${step.name}" has no completedOn reply type`);
    const all = [...types(step.completedOn), ...types(step.failedOn), ...types(step.compensation?.completedOn), ...types(step.compensation?.failedOn)];
    if (all.includes(definition.start)) fail(`step "${step.name}" takes the start event "${definition.start}" as a reply`);
    for (const ms of [step.timeoutMs, step.compensation?.timeoutMs]) if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) fail(`step "${step.name}": a timeout is a number of milliseconds > 0, got ${String(ms)}`);
    // Checked now rather than at the first failure.
    retryDelays(step.retry);
    retryDelays(step.compensation?.retry);
    if (step.compensation) return;
    const failing = definition.steps.slice(index + 1).find(canFail);
    if (failing) fail(`step "${step.name}" has no compensation, so it must be the last step or be followed only by steps that cannot fail; "${failing.name}" can (failedOn or timeoutMs)`);
  });
}

/** The timeout of a step or of its compensation; a compensation that waits for no reply has none. */
function timeoutOf(step: SagaStep<unknown, EventShape, EventShape>, undo: boolean): number | undefined {
  if (!undo) return step.timeoutMs;
  if (types(step.compensation!.completedOn).length === 0) return undefined;
  return step.compensation!.timeoutMs ?? step.timeoutMs;
}

function canFail(step: SagaStep<unknown, EventShape, EventShape>): boolean {
  return types(step.failedOn).length > 0 || step.timeoutMs !== undefined;
}

/** The retry delay after `attempt` failed, or undefined when none is left. Its jitter is drawn from the instance and step, so a replay decides the same. */
function retryDelay(policy: RetryPolicy | undefined, seed: string, attempt: number): number | undefined {
  if (!policy) return undefined;
  let k = 0;
  return retryDelays(policy, () => fnv1a32(`${seed}\u0000${k++}`) / 2 ** 32)[attempt - 1];
}

function next<Start extends EventShape, R extends EventShape, C extends EventShape>(
  definition: SagaDefinition<Start, R, C>,
  state: SagaState<Start['data']>,
  input: WorkflowInput<Start | R>,
): Transition<Start['data']> {
  const steps = definition.steps;
  const ctx = (s: SagaState<Start['data']>): SagaContext<Start['data']> => ({ start: s.start as Start['data'], replies: s.replies });
  const finished = state.status === 'completed' || state.status === 'compensated' || state.status === 'failed';
  const unchanged: Transition<Start['data']> = { state, outputs: [] };
  if (finished) return unchanged;

  /** Sends step `index`'s command (or compensation), attempt `attempt`. */
  const attemptStep = (s: SagaState<Start['data']>, index: number, attempt: number): Transition<Start['data']> => {
    const step = steps[index]!;
    const undo = s.status === 'compensating';
    const command = undo ? step.compensation!.command(ctx(s)) : step.command(ctx(s));
    const timeoutMs = timeoutOf(step, undo);
    const outputs: WorkflowOutput<C, never>[] = [send(command, { key: undo ? `${step.name}/compensate/${attempt}` : `${step.name}/${attempt}` })];
    if (timeoutMs !== undefined) outputs.push(schedule(TIMEOUT, { afterMs: timeoutMs }));
    const { retrying: _done, ...rest } = s;
    return { state: { ...rest, stage: 'step', step: index, attempt }, outputs };
  };

  /** Step `index` is next forward: its first attempt, or the saga is done. */
  const forward = (previous: SagaState<Start['data']>, index: number): Transition<Start['data']> => {
    const { inDoubt: _settled, ...s } = previous;
    if (index < steps.length) return attemptStep(s, index, 1);
    const result: SagaResult = { outcome: 'completed' };
    return { state: { ...s, status: 'completed', step: index }, outputs: [complete(result as unknown as JsonValue)] };
  };

  /** Compensates from step `index` down: the highest step with a compensation first; compensations without replies are sent together. */
  const backward = (s: SagaState<Start['data']>, index: number): Transition<Start['data']> => {
    const outputs: WorkflowOutput<C, never>[] = [];
    let current: SagaState<Start['data']> = { ...s, status: 'compensating' };
    for (let i = index; i >= 0; i--) {
      const compensation = steps[i]!.compensation;
      if (!compensation) continue;
      const sent = attemptStep(current, i, 1);
      outputs.push(...sent.outputs);
      current = sent.state;
      if (types(compensation.completedOn).length > 0) return { state: current, outputs };
    }
    const result: SagaResult = { outcome: 'compensated', ...(s.failure ? { failure: s.failure } : {}) };
    return { state: { ...current, status: 'compensated', step: -1 }, outputs: [...outputs, complete(result as unknown as JsonValue)] };
  };

  /** The current attempt failed: the next one (now, or after a backoff timer), or the step failed for good. */
  const failed = (current: SagaState<Start['data']>, reason: 'failed' | 'timeout', reply?: unknown): Transition<Start['data']> => {
    const step = steps[current.step]!;
    const undo = current.status === 'compensating';
    const s = reason === 'timeout' && !undo ? { ...current, inDoubt: true } : current;
    const policy = undo ? (step.compensation!.retry ?? step.retry) : step.retry;
    const delay = retryDelay(policy, `${undo ? 'compensate' : 'step'}\u0000${step.name}\u0000${JSON.stringify(s.start)}`, s.attempt);
    const stop: WorkflowOutput<C, never>[] = reason === 'failed' && timeoutOf(step, undo) !== undefined ? [cancel(TIMEOUT)] : [];
    if (delay === 0) {
      const again = attemptStep(s, s.step, s.attempt + 1);
      return { state: again.state, outputs: [...stop, ...again.outputs] };
    }
    if (delay !== undefined) return { state: { ...s, retrying: true }, outputs: [...stop, schedule(RETRY, { afterMs: delay })] };
    if (undo) {
      const result: SagaResult = { outcome: 'failed', ...(s.failure ? { failure: s.failure } : {}), compensationFailed: step.name };
      return { state: { ...s, status: 'failed' }, outputs: [complete(result as unknown as JsonValue)] };
    }
    const failure = { step: step.name, reason, ...(reply !== undefined ? { reply } : {}) };
    const { inDoubt, ...settled } = s;
    const back = backward({ ...settled, failure }, inDoubt ? s.step : s.step - 1);
    return { state: back.state, outputs: [...stop, ...back.outputs] };
  };

  if (input.type === definition.start) {
    if (state.stage !== 'new') return unchanged; // a second start of a running saga
    const started: SagaState<Start['data']> = { ...state, start: input.data as Start['data'] };
    const lock = definition.lock;
    if (!lock) return forward(started, 0);
    const resource = lock.resource(ctx(started));
    return { state: { ...started, stage: 'locking' }, outputs: [acquire(resource, { policy: lock.policy ?? 'fail', ...(lock.expiresAfterMs !== undefined ? { expiresAfterMs: lock.expiresAfterMs } : {}) })] };
  }
  if (state.stage === 'new') return unchanged; // a reply with no saga started
  // The runner's own inputs, typed apart from the saga's replies (which cannot share their types).
  const own = input as WorkflowInput<never>;
  if (state.stage === 'locking') {
    const lock = definition.lock!;
    const resource = lock.resource(ctx(state));
    if (own.type === 'LockAcquired' && own.data.resource === resource) return forward({ ...state, stage: 'step' }, 0);
    if (own.type === 'LockBusy' && own.data.resource === resource) {
      if (own.data.queued) {
        // Woken when handed the lock, or when the holder's hold lapses (it may have crashed).
        const at = own.data.holder.expiresAt;
        return { state, outputs: at ? [schedule(lockTimerName(resource), { at })] : [] };
      }
      const failure = { step: 'lock', reason: 'locked' as const, reply: own.data as unknown as JsonValue };
      const result: SagaResult = { outcome: 'failed', failure };
      return { state: { ...state, status: 'failed', failure }, outputs: [complete(result as unknown as JsonValue)] };
    }
    if (own.type === 'TimerFired' && own.data.timer === lockTimerName(resource)) {
      return { state, outputs: [acquire(resource, { policy: lock.policy ?? 'fail', ...(lock.expiresAfterMs !== undefined ? { expiresAfterMs: lock.expiresAfterMs } : {}) })] };
    }
    return unchanged;
  }

  const step = steps[state.step]!;
  const undo = state.status === 'compensating';
  if (own.type === 'TimerFired') {
    if (own.data.timer === TIMEOUT) return failed(state, 'timeout');
    if (own.data.timer === RETRY) return attemptStep(state, state.step, state.attempt + 1);
    return unchanged;
  }
  if (own.type === 'LockAcquired' || own.type === 'LockBusy') return unchanged;
  const done = types(undo ? step.compensation!.completedOn : step.completedOn);
  const failing = types(undo ? step.compensation!.failedOn : step.failedOn);
  if (done.includes(input.type)) {
    // A success can come late, while a retry waits on its backoff: that timer must not fire into the next step.
    const stop: WorkflowOutput<C, never>[] = state.retrying ? [cancel(RETRY)] : timeoutOf(step, undo) !== undefined ? [cancel(TIMEOUT)] : [];
    const after = undo ? backward(state, state.step - 1) : forward({ ...state, replies: { ...state.replies, [step.name]: input.data } }, state.step + 1);
    return { state: after.state, outputs: [...stop, ...after.outputs] };
  }
  // A failure while a backoff timer runs is the same attempt's, told twice: only the timer moves on.
  if (failing.includes(input.type)) return state.retrying ? unchanged : failed(state, 'failed', input.data);
  return unchanged;
}
