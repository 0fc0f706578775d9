import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { NewEvent, RecordedEvent } from '../core/message.js';
import type { Decider, EvolveEvent } from './decider.js';
import { foldStart } from './load-state.js';
import { plainState, stateChanges, type StateChange } from './state-changes.js';

/** One event of a stream with the state it left, and what it changed. */
export interface StateStep {
  event: RecordedEvent;
  /** The folded state after this event, as plain JSON (`plainState`). */
  state: unknown;
  changes: StateChange[];
}

/** A stretch of a stream's history, folded by a decider. */
export interface StateHistory {
  streamId: string;
  /** The state before the first event of `steps` (the initial state when it starts the stream). */
  before: unknown;
  steps: StateStep[];
  /** The stream's version now. */
  version: number;
}

/**
 * The state of a stream at each version from `from` (inclusive), `limit` events long, and what
 * each event changed: a temporal query ("what did order 42 look like at version 7, and which
 * event set its status?"). Folds from the start of the stream's visible history to `from + limit - 1`
 * (no snapshot: a snapshot holds the state of one version, not the ones before it); only the
 * events of the window are kept.
 *
 * @example
 * const { steps } = await stateHistory(store, 'order-42', orderDecider, { from: 1, limit: 20 })
 * for (const { event, changes } of steps) console.log(event.streamVersion, event.type, changes)
 */
export async function stateHistory<State, C, E extends NewEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, C, E>,
  options: { from?: number; limit?: number } = {},
): Promise<StateHistory> {
  const from = options.from ?? 1;
  const limit = options.limit ?? 50;
  if (!Number.isSafeInteger(from) || from < 1) throw new FactumError('INVALID_ARGUMENT', `from is a stream version >= 1, got ${String(from)}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new FactumError('INVALID_ARGUMENT', `limit is an integer >= 1, got ${String(limit)}`);
  const info = await store.streamInfo(streamId);
  let state = decider.initialState();
  let before: unknown;
  const steps: StateStep[] = [];
  for await (const event of store.readStream(streamId, { fromVersion: foldStart(info), toVersion: from + limit - 1 })) {
    // Copied as plain JSON before and after: an evolve that changes its state in place cannot rewrite the past.
    if (event.streamVersion >= from && before === undefined) before = plainState(state);
    state = decider.evolve(state, event as RecordedEvent as EvolveEvent<E>);
    if (event.streamVersion < from) continue;
    const after = plainState(state);
    steps.push({ event, state: after, changes: stateChanges(steps.length ? steps[steps.length - 1]!.state : before, after) });
  }
  return { streamId, before: before === undefined ? plainState(state) : before, steps, version: info.version };
}
