import { isDeepStrictEqual } from 'node:util';
import type { NewEvent } from '../core/message.js';
import { aggregateDecider, type Aggregate } from '../domain/aggregate.js';
import { decidedEvents, type Decider, type EvolveEvent } from '../domain/decider.js';

/**
 * A failed specification. A plain `Error` (the test kit depends on no test runner) whose
 * message shows what was expected and what happened; `expected` and `actual` let runners that
 * know them (Vitest, Jest, node:test) draw a diff too.
 *
 * @example
 * try { spec.given([]).when(command).thenNothing() }
 * catch (e) { if (e instanceof SpecificationError) console.log(e.expected, e.actual) }
 */
export class SpecificationError extends Error {
  constructor(
    message: string,
    readonly expected?: unknown,
    readonly actual?: unknown,
  ) {
    super(message);
    this.name = 'SpecificationError';
  }
}

/** What `thenThrows` accepts: a `DomainError` reason, an error code, a predicate, or an error class. */
export type ErrorExpectation = string | ((error: unknown) => boolean) | (abstract new (...args: any[]) => unknown);

type Outcome<State, E> = { ok: true; events: E[]; state: State } | { ok: false; error: unknown };

const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);

/** One message per line, `type {data}`: short enough to compare two lists by eye. */
function showMessage(message: unknown): string {
  const m = message as Partial<NewEvent> | null;
  if (typeof m !== 'object' || m === null || typeof m.type !== 'string') return json(message);
  const extras = [
    m.schemaVersion !== undefined ? `v${m.schemaVersion}` : '',
    m.metadata !== undefined ? `metadata ${json(m.metadata)}` : '',
    m.id !== undefined ? `id ${m.id}` : '',
  ].filter(Boolean);
  return `${m.type} ${json(m.data)}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

function showList(messages: readonly unknown[]): string {
  if (messages.length === 0) return ' (none)';
  return messages.map((m, i) => `\n    ${i + 1}. ${showMessage(m)}`).join('');
}

const show = (value: unknown): string => (Array.isArray(value) ? showList(value) : ` ${showMessage(value)}`);

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; reason?: unknown };
    return `${e.name}${e.code ? ` [${String(e.code)}${e.reason ? `/${String(e.reason)}` : ''}]` : ''}: ${e.message}`;
  }
  return String(error);
}

/** Keeps only the fields the expectation mentions (type and data always), so ids and metadata need not be spelt out. */
function project(actual: NewEvent, expected: NewEvent | undefined): Partial<NewEvent> {
  const out: Partial<NewEvent> = { type: actual.type, data: actual.data };
  if (expected?.metadata !== undefined) out.metadata = actual.metadata;
  if (expected?.schemaVersion !== undefined) out.schemaVersion = actual.schemaVersion;
  if (expected?.id !== undefined) out.id = actual.id;
  return out;
}

/**
 * Given / when / then for a decider: given past events, when a command, then the new events, a
 * typed error, or nothing. Each `then…` runs the decider and throws a `SpecificationError` that
 * shows both lists when the outcome differs, so it works in any test runner.
 *
 * @example
 * const spec = DeciderSpecification.for(cart)
 * spec.given([{ type: 'ItemAdded', data: { sku: 'a' } }])
 *   .when({ type: 'AddItem', data: { sku: 'b' } })
 *   .then([{ type: 'ItemAdded', data: { sku: 'b' } }])
 * spec.given(tenItems).when(addItem).thenThrows('CartFull')
 */
export class DeciderSpecification<State, C, E extends NewEvent> {
  private constructor(private readonly decider: Decider<State, C, E>) {}

  /** A specification for a decider. */
  static for<State, C, E extends NewEvent>(decider: Decider<State, C, E>): DeciderSpecification<State, C, E> {
    return new DeciderSpecification(decider);
  }

  /** A specification for an aggregate class; `execute` maps a command to its method. */
  static forAggregate<A extends Aggregate<any, any>, C>(
    Class: new () => A,
    execute: (aggregate: A, command: C) => void,
  ): DeciderSpecification<A extends Aggregate<infer S, any> ? S : never, C, A extends Aggregate<any, infer E> ? E : never> {
    return new DeciderSpecification(aggregateDecider(Class, execute));
  }

  given(events: readonly E[] = []): { when: (command: C) => Then<State, E> } {
    return { when: (command: C) => new Then(this.decider, [...events], command) };
  }
}

/**
 * The assertions of a specification (see `DeciderSpecification`).
 *
 * @example
 * const then = DeciderSpecification.for(cart).given([]).when(addItem)
 * then.then([{ type: 'ItemAdded', data: { sku: 'a' } }])
 */
export class Then<State, E extends NewEvent> {
  constructor(
    private readonly decider: Decider<State, any, E>,
    private readonly history: E[],
    private readonly command: unknown,
  ) {}

  private run(): Outcome<State, E> {
    let state = this.decider.initialState();
    for (const event of this.history) state = this.decider.evolve(state, event as EvolveEvent<E>);
    try {
      const events = decidedEvents(this.decider.decide(this.command, state));
      for (const event of events) state = this.decider.evolve(state, event as EvolveEvent<E>);
      return { ok: true, events, state };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private header(): string {
    const name = this.decider.name ? `"${this.decider.name}"` : '';
    return `Decider${name ? ` ${name}` : ''}\n  given:${show(this.history)}\n  when:${show(this.command)}`;
  }

  /** The command produces exactly these events (compared on type and data, plus any metadata, schemaVersion or id given). */
  then(expected: readonly E[] | ((events: E[], state: State) => void)): void {
    const outcome = this.run();
    if (!outcome.ok) {
      throw new SpecificationError(`${this.header()}\n  expected events:${typeof expected === 'function' ? ' (checked by a function)' : show(expected)}\n  but it threw: ${describeError(outcome.error)}`, expected, outcome.error);
    }
    if (typeof expected === 'function') {
      expected(outcome.events, outcome.state);
      return;
    }
    const actual = outcome.events.map((e, i) => project(e, expected[i]));
    const wanted = expected.map((e) => project(e, e));
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(wanted)))) {
      throw new SpecificationError(`${this.header()}\n  expected events:${show(wanted)}\n  actual events:${show(actual)}`, wanted, actual);
    }
  }

  /** The command produces no events. */
  thenNothing(): void {
    this.then([]);
  }

  /** After the new events, the state equals `expected`. */
  thenState(expected: State): void {
    const outcome = this.run();
    if (!outcome.ok) throw new SpecificationError(`${this.header()}\n  expected state: ${json(expected)}\n  but it threw: ${describeError(outcome.error)}`, expected, outcome.error);
    if (!isDeepStrictEqual(outcome.state, expected)) {
      throw new SpecificationError(`${this.header()}\n  expected state: ${json(expected)}\n  actual state:   ${json(outcome.state)}`, expected, outcome.state);
    }
  }

  /**
   * The command is refused. `expected` is a `DomainError` reason (`'CartFull'`), an error code
   * (`'DOMAIN_RULE_VIOLATED'`), a predicate, or an error class; absent, any error will do.
   */
  thenThrows(expected?: ErrorExpectation): void {
    const outcome = this.run();
    const wanted = expected === undefined ? 'an error' : typeof expected === 'string' ? `an error with reason or code "${expected}"` : typeof expected === 'function' && 'prototype' in expected && expected.prototype instanceof Error ? `a ${expected.name}` : 'an error matching the predicate';
    if (outcome.ok) {
      throw new SpecificationError(`${this.header()}\n  expected: ${wanted}\n  but it produced events:${show(outcome.events)}`, wanted, outcome.events);
    }
    if (!matches(outcome.error, expected)) {
      throw new SpecificationError(`${this.header()}\n  expected: ${wanted}\n  but it threw: ${describeError(outcome.error)}`, wanted, outcome.error);
    }
  }
}

function matches(error: unknown, expected: ErrorExpectation | undefined): boolean {
  if (expected === undefined) return true;
  if (typeof expected === 'string') {
    const e = error as { reason?: unknown; code?: unknown } | null;
    return typeof e === 'object' && e !== null && (e.reason === expected || e.code === expected);
  }
  if ('prototype' in expected && (expected.prototype instanceof Error || expected === Error)) return error instanceof (expected as abstract new () => unknown);
  return (expected as (error: unknown) => boolean)(error);
}
