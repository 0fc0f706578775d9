import { isDeepStrictEqual } from 'node:util';
import type { EventShape } from '../core/message.js';
import type { Workflow, WorkflowInput, WorkflowOutput } from '../sagas/workflow.js';
import { SpecificationError } from './decider-specification.js';

const json = (value: unknown): string => JSON.stringify(value) ?? String(value);

type Outcome<State, O> = { ok: true; outputs: O[]; state: State } | { ok: false; error: unknown };

/** One output per line, short enough to compare two lists by eye. */
function showOutputs(outputs: readonly unknown[]): string {
  if (outputs.length === 0) return ' (none)';
  return outputs.map((o, i) => `\n    ${i + 1}. ${json(o)}`).join('');
}

/** Compared as JSON, and without metadata unless the expectation gives it. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

/**
 * Given / when / then for a workflow: given the inputs an instance accepted, when one more
 * input (an event or a fired timer), then these outputs, this state, or an error. Pure: it runs
 * `evolve` and `decide` only, no store and no runner, and throws a `SpecificationError` showing
 * both lists when the outcome differs, so it works in any test runner.
 *
 * @example
 * const spec = WorkflowSpecification.for(checkout)
 * spec.given([{ type: 'OrderPlaced', data: { orderId: '1' } }])
 *   .when({ type: 'PaymentReceived', data: { orderId: '1' } })
 *   .then([cancel('reminder'), complete()])
 * spec.given([placed]).when(timerFired('reminder')).then([send({ type: 'SendReminder', data: { orderId: '1' } })])
 */
export class WorkflowSpecification<State, I extends EventShape, C extends EventShape, E extends EventShape> {
  private constructor(private readonly workflow: Workflow<State, I, C, E>) {}

  /** A specification for a workflow. */
  static for<State, I extends EventShape, C extends EventShape, E extends EventShape>(workflow: Workflow<State, I, C, E>): WorkflowSpecification<State, I, C, E> {
    return new WorkflowSpecification(workflow);
  }

  given(inputs: readonly WorkflowInput<I>[] = []): { when: (input: WorkflowInput<I>) => WorkflowThen<State, I, C, E> } {
    return { when: (input) => new WorkflowThen(this.workflow, [...inputs], input) };
  }
}

/**
 * A `TimerFired` input for a specification, on time unless `latenessMs` says otherwise.
 *
 * @example
 * spec.given([placed]).when(timerFired('payment', { latenessMs: 5000 })).then([complete('expired')])
 */
export function timerFired(timer: string, options: { dueAt?: string; latenessMs?: number; payload?: import('../core/message.js').JsonValue } = {}): WorkflowInput<never> {
  const dueAt = options.dueAt ?? '2026-01-01T00:00:00.000Z';
  const latenessMs = options.latenessMs ?? 0;
  return {
    type: 'TimerFired',
    data: { timer, dueAt, firedAt: new Date(new Date(dueAt).getTime() + latenessMs).toISOString(), latenessMs, ...(options.payload !== undefined ? { payload: options.payload } : {}) },
  };
}

/**
 * The assertions of a workflow specification (see `WorkflowSpecification`).
 *
 * @example
 * WorkflowSpecification.for(checkout).given([]).when(placed).thenState({ orderId: '1' })
 */
export class WorkflowThen<State, I extends EventShape, C extends EventShape, E extends EventShape> {
  constructor(
    private readonly workflow: Workflow<State, I, C, E>,
    private readonly history: WorkflowInput<I>[],
    private readonly input: WorkflowInput<I>,
  ) {}

  private run(): Outcome<State, WorkflowOutput<C, E>> {
    try {
      let state = this.workflow.initialState();
      for (const input of this.history) state = this.workflow.evolve(state, input);
      const outputs = this.workflow.decide(this.input, state);
      return { ok: true, outputs, state: this.workflow.evolve(state, this.input) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private header(): string {
    return `Workflow "${this.workflow.name}"\n  given:${showOutputs(this.history)}\n  when: ${json(this.input)}`;
  }

  /** `decide` answers with exactly these outputs (compared as JSON), or passes the check of a function. */
  then(expected: readonly WorkflowOutput<C, E>[] | ((outputs: WorkflowOutput<C, E>[], state: State) => void)): void {
    const outcome = this.run();
    if (!outcome.ok) throw new SpecificationError(`${this.header()}\n  expected outputs:${typeof expected === 'function' ? ' (checked by a function)' : showOutputs(expected)}\n  but it threw: ${String(outcome.error)}`, expected, outcome.error);
    if (typeof expected === 'function') {
      expected(outcome.outputs, outcome.state);
      return;
    }
    if (!isDeepStrictEqual(plain(outcome.outputs), plain(expected))) {
      throw new SpecificationError(`${this.header()}\n  expected outputs:${showOutputs(expected)}\n  actual outputs:${showOutputs(outcome.outputs)}`, plain(expected), plain(outcome.outputs));
    }
  }

  /** `decide` answers with no output. */
  thenNothing(): void {
    this.then([]);
  }

  /** After the input, the state equals `expected`. */
  thenState(expected: State): void {
    const outcome = this.run();
    if (!outcome.ok) throw new SpecificationError(`${this.header()}\n  expected state: ${json(expected)}\n  but it threw: ${String(outcome.error)}`, expected, outcome.error);
    if (!isDeepStrictEqual(outcome.state, expected)) {
      throw new SpecificationError(`${this.header()}\n  expected state: ${json(expected)}\n  actual state:   ${json(outcome.state)}`, expected, outcome.state);
    }
  }

  /** `decide` (or `evolve`) throws; with a predicate, an error it accepts. */
  thenThrows(expected?: (error: unknown) => boolean): void {
    const outcome = this.run();
    if (outcome.ok) throw new SpecificationError(`${this.header()}\n  expected an error\n  but it produced outputs:${showOutputs(outcome.outputs)}`, 'an error', outcome.outputs);
    if (expected && !expected(outcome.error)) throw new SpecificationError(`${this.header()}\n  expected an error matching the predicate\n  but it threw: ${String(outcome.error)}`, 'a matching error', outcome.error);
  }
}
