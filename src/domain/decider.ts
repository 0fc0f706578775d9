import type { EventMetadata, JsonValue, NewEvent, RecordedEvent } from '../core/message.js';

/** Metadata of a command; its ids flow into the metadata of every event it produces. */
export interface CommandMetadata {
  /** The command's own id; becomes the `causationId` of its events. */
  commandId?: string;
  /** The business flow; copied to every event (the command id when absent). */
  correlationId?: string;
  /** What caused the command; used as the events' `causationId` when the command has no id. */
  causationId?: string;
  userId?: string;
  [key: string]: JsonValue | undefined;
}

/**
 * A command: a request, named in the imperative. It may be refused.
 *
 * @example
 * const add: Command<'AddItem', { sku: string }> = { type: 'AddItem', data: { sku: 'a' }, metadata: { commandId: uuidv7() } }
 */
export interface Command<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata?: CommandMetadata;
}

/**
 * The event a decider receives in `evolve`: the decided event, or (when loading) the recorded
 * one, which carries the same `type` and `data` plus the log's fields.
 */
export type EvolveEvent<E extends NewEvent> = E & Partial<Pick<RecordedEvent, 'streamId' | 'streamVersion' | 'globalPosition' | 'recordedAt'>>;

/** Opt-in snapshots of a decider's state. */
export interface SnapshotOptions<State> {
  /**
   * The decider's name in the snapshot key (stream, name, version). Required: two deciders that
   * fold one stream into different states must never load each other's snapshot, so each names
   * its own. Keep it stable across deployments (a class name, which minifiers change, would not
   * do); renaming it only costs a fold of the whole stream until the next snapshot.
   */
  name: string;
  /** Take a snapshot whenever the stream crosses a multiple of this many events. */
  every: number;
  /**
   * The version of the state's shape. Bump it whenever `State` or `evolve` changes meaning:
   * snapshots of any other version are ignored (never loaded as wrong state).
   */
  version: number;
  /** To JSON, for states that are not plain JSON (Maps, class instances). */
  toSnapshot?: (state: State) => JsonValue;
  fromSnapshot?: (json: JsonValue) => State;
}

/**
 * The functional write model: state folded from events, and a pure function that decides what
 * new events a command produces (or throws a `DomainError`). `aggregateDecider` turns an
 * `Aggregate` class into one, so both styles run through `handleCommand` and the test kit.
 *
 * @example
 * const cart: Decider<{ items: string[] }, AddItem, ItemAdded> = {
 *   initialState: () => ({ items: [] }),
 *   evolve: (state, event) => ({ items: [...state.items, event.data.sku] }),
 *   decide: (command, state) => {
 *     if (state.items.length >= 10) throw new DomainError('CartFull')
 *     return [{ type: 'ItemAdded', data: { sku: command.data.sku } }]
 *   },
 *   snapshot: { name: 'cart', every: 100, version: 1 },
 * }
 */
export interface Decider<State, C, E extends NewEvent = NewEvent> {
  /** For messages; snapshots are keyed by `snapshot.name`. */
  name?: string;
  initialState: () => State;
  evolve: (state: State, event: EvolveEvent<E>) => State;
  /** Pure: no I/O, the same answer for the same command and state. Return [] to do nothing. */
  decide: (command: C, state: State) => E | readonly E[];
  snapshot?: SnapshotOptions<State>;
}

/** The metadata every event of a command gets: correlation and causation from the command. */
export function commandEventMetadata(command: unknown, extra: EventMetadata = {}): EventMetadata {
  const m = (typeof command === 'object' && command !== null ? (command as { metadata?: CommandMetadata }).metadata : undefined) ?? {};
  const out: EventMetadata = { ...extra };
  const correlationId = m.correlationId ?? m.commandId;
  const causationId = m.commandId ?? m.causationId;
  if (correlationId !== undefined) out.correlationId = correlationId;
  if (causationId !== undefined) out.causationId = causationId;
  if (m.userId !== undefined) out.userId = m.userId;
  return out;
}

/** `decide`'s answer as a list. */
export function decidedEvents<E>(decided: E | readonly E[]): E[] {
  if (Array.isArray(decided)) return [...(decided as readonly E[])];
  return decided === undefined || decided === null ? [] : [decided as E];
}
