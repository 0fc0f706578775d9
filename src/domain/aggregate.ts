import type { NewEvent } from '../core/message.js';
import type { Decider, EvolveEvent, SnapshotOptions } from './decider.js';

/**
 * The object-oriented write model: methods check rules against `state` and `record` events;
 * `apply` evolves the state, both when recording and when loading. `aggregateDecider` turns a
 * subclass into a `Decider`, so it runs through `handleCommand`, snapshots and the test kit.
 *
 * @example
 * class Cart extends Aggregate<{ items: string[] }, ItemAdded> {
 *   initialState() { return { items: [] } }
 *   apply(state, event) { return { items: [...state.items, event.data.sku] } }
 *   addItem(sku: string) {
 *     if (this.state.items.length >= 10) throw new DomainError('CartFull')
 *     this.record({ type: 'ItemAdded', data: { sku } })
 *   }
 * }
 */
export abstract class Aggregate<State, E extends NewEvent = NewEvent> {
  #state: State | undefined;
  #initialised = false;
  #pending: E[] = [];

  /** The state before the first event. It must not read instance fields (it runs first). */
  abstract initialState(): State;
  /** Returns the state after `event`; keep it pure (it replays history). */
  abstract apply(state: State, event: EvolveEvent<E>): State;

  get state(): State {
    if (!this.#initialised) {
      this.#state = this.initialState();
      this.#initialised = true;
    }
    return this.#state as State;
  }

  /** Events recorded since this instance was loaded, in order. */
  get pendingEvents(): readonly E[] {
    return this.#pending;
  }

  /** Records a new event and applies it, so later rule checks see it. */
  protected record(event: E): void {
    this.#state = this.apply(this.state, event);
    this.#pending.push(event);
  }

  /** Sets the loaded state (used by `aggregateDecider`; there is nothing to apply). */
  hydrate(state: State): this {
    this.#state = state;
    this.#initialised = true;
    this.#pending = [];
    return this;
  }
}

type StateOf<A> = A extends Aggregate<infer S, any> ? S : never;
type EventOf<A> = A extends Aggregate<any, infer E> ? E : never;

/** Options of `aggregateDecider`. */
export interface AggregateDeciderOptions<State> {
  name?: string;
  snapshot?: SnapshotOptions<State>;
}

/**
 * Turns an `Aggregate` class into a `Decider`: `execute` calls the method a command maps to.
 * Snapshot options come from `options` or from a static `snapshot` field on the class.
 *
 * @example
 * const cart = aggregateDecider(Cart, (cart, command: AddItem) => cart.addItem(command.data.sku), {
 *   snapshot: { name: 'cart', every: 100, version: 1 },
 * })
 * await handleCommand(store, 'cart-1', { type: 'AddItem', data: { sku: 'a' } }, cart)
 */
export function aggregateDecider<A extends Aggregate<any, any>, C>(
  Class: new () => A,
  execute: (aggregate: A, command: C) => void,
  options: AggregateDeciderOptions<StateOf<A>> = {},
): Decider<StateOf<A>, C, EventOf<A>> {
  // apply is pure, so one instance serves every evolve call.
  const applier = new Class();
  const snapshot = options.snapshot ?? (Class as unknown as { snapshot?: SnapshotOptions<StateOf<A>> }).snapshot;
  return {
    name: options.name ?? Class.name,
    initialState: () => new Class().state as StateOf<A>,
    evolve: (state, event) => applier.apply(state, event) as StateOf<A>,
    decide: (command, state) => {
      const aggregate = new Class().hydrate(state);
      execute(aggregate, command);
      return aggregate.pendingEvents as EventOf<A>[];
    },
    ...(snapshot ? { snapshot } : {}),
  };
}
