import { tracedStep } from '../core/telemetry/spans.js';
import { isConcurrencyError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { EventMetadata, NewEvent, RecordedEvent } from '../core/message.js';
import { retryDelays, type RetryPolicy } from '../core/retry-policy.js';
import { sleep } from '../core/sleep.js';
import { uuidv7 } from '../core/uuid.js';
import { commandEventMetadata, decidedEvents, type Decider, type EvolveEvent } from './decider.js';
import { recordedEvents } from './recorded-events.js';
import { foldStart, loadState, snapshotOf, snapshotsApply } from './load-state.js';
import type { SnapshotStore } from './snapshots/snapshot-store.js';

/** Options of `handleCommand`. */
export interface HandleCommandOptions {
  /** Where snapshots live; used only when the decider opts in with `snapshot`. */
  snapshots?: SnapshotStore;
  /**
   * Retries after a version conflict, the same `RetryPolicy` subscriptions use; by default
   * `COMMAND_RETRY_POLICY`: 10 retries (so up to 11 attempts), exponential from 5 ms by 2 up to
   * 500 ms, with full jitter so that competing writers spread out. `{ backoffRetries: 0 }` never retries.
   */
  retry?: RetryPolicy;
  /** Extra metadata for every event (the command's correlation and causation ids are added). */
  metadata?: EventMetadata;
  /**
   * Called when a snapshot write fails; the command has succeeded all the same. Without it, the
   * failure is reported as a process warning (`FactumSnapshotWarning`).
   */
  onSnapshotError?: (error: unknown) => void;
}

/** What `handleCommand` did. */
export interface CommandResult<State> {
  streamId: string;
  /**
   * The appended events (empty when the command decided nothing), rebuilt from the append's
   * result rather than read back: ids, versions and positions are the stored ones; `recordedAt`
   * is this process's clock when the append returned.
   */
  events: RecordedEvent[];
  /** The state after them. */
  state: State;
  /** The stream's version after the command. */
  version: number;
  /** How many times the command was decided (1 + retries after conflicts). */
  attempts: number;
  /**
   * Set when a snapshot is being written. The write runs after the append, off the caller's
   * path; await this only to know when it is done (it resolves false if it failed, never rejects).
   */
  snapshot?: Promise<boolean>;
}

/**
 * How `handleCommand` retries a version conflict unless told otherwise: no immediate retry (the
 * winner's append is still landing), then 10 jittered waits from 5 ms up to 500 ms.
 *
 * @example
 * await handleCommand(store, 'cart-1', command, cart, { retry: { ...COMMAND_RETRY_POLICY, backoffRetries: 50 } })
 */
export const COMMAND_RETRY_POLICY: RetryPolicy = { immediateRetries: 0, backoffRetries: 10, initialDelayMs: 5, maxDelayMs: 500, factor: 2, jitter: 1 };

/**
 * Runs a command against a stream: load (snapshot + the events after it), decide, append with
 * the loaded version as the expected version. On a version conflict it reloads and decides
 * again, as often as its `retry` policy says (10 times with jittered backoff by default), so concurrent commands never lose an update; when
 * the retries run out the last `ConcurrencyError` is thrown. A `DomainError` from `decide` is
 * thrown at once and nothing is written; a command that decides no events writes nothing.
 * The command's correlation and causation ids go into every event's metadata.
 *
 * @example
 * const result = await handleCommand(store, 'cart-1', { type: 'AddItem', data: { sku: 'a' }, metadata: { commandId } }, cart, {
 *   snapshots: snapshotStoreFor(store),
 * })
 * result.version // the stream's version after the command
 */
export function handleCommand<State, C, E extends NewEvent>(
  store: EventStore,
  streamId: string,
  command: C,
  decider: Decider<State, C, E>,
  options: HandleCommandOptions = {},
): Promise<CommandResult<State>> {
  const type = (command as { type?: unknown })?.type;
  return tracedStep(`handle ${typeof type === 'string' ? type : 'command'}`, { 'factum.stream.id': String(streamId) }, () => decideAndAppend(store, streamId, command, decider, options));
}

/** The load-decide-append loop of `handleCommand`, inside its span. */
async function decideAndAppend<State, C, E extends NewEvent>(
  store: EventStore,
  streamId: string,
  command: C,
  decider: Decider<State, C, E>,
  options: HandleCommandOptions,
): Promise<CommandResult<State>> {
  const delays = retryDelays({ ...COMMAND_RETRY_POLICY, ...options.retry });
  const metadata = commandEventMetadata(command, options.metadata);

  for (let attempt = 1; ; attempt++) {
    const loaded = await loadState(store, streamId, decider, options.snapshots ? { snapshots: options.snapshots } : {});
    const decided = decidedEvents(decider.decide(command, loaded.state));
    if (decided.length === 0) return { streamId, events: [], state: loaded.state, version: loaded.version, attempts: attempt };

    // Ids are drawn here so that the recorded events can be rebuilt without reading them back.
    const events: NewEvent[] = decided.map((e) => ({ ...e, id: e.id ?? uuidv7(), metadata: { ...metadata, ...e.metadata } }));
    let appended;
    try {
      appended = await store.append(streamId, events, { expectedVersion: loaded.version });
    } catch (error) {
      if (!isConcurrencyError(error) || attempt > delays.length) throw error;
      await sleep(delays[attempt - 1]!);
      continue;
    }

    const recorded = recordedEvents(store, streamId, events, appended);
    let state = loaded.state;
    for (const event of recorded) state = decider.evolve(state, event as RecordedEvent as EvolveEvent<E>);

    const result: CommandResult<State> = { streamId, events: recorded, state, version: appended.nextExpectedVersion, attempts: attempt };
    const every = decider.snapshot?.every;
    if (
      decider.snapshot &&
      options.snapshots &&
      every !== undefined &&
      every > 0 &&
      snapshotsApply(loaded.info) &&
      Math.floor(result.version / every) > Math.floor(loaded.version / every)
    ) {
      const snapshotOptions = decider.snapshot;
      const snapshots = options.snapshots;
      // Not awaited: the caller's append is done; the snapshot only speeds up later loads. It is
      // started now (serialised before the caller can touch the returned state) and any failure,
      // even a synchronous one in toSnapshot, ends up in onSnapshotError.
      result.snapshot = new Promise<void>((resolve) => resolve(snapshots.save(snapshotOf(streamId, snapshotOptions, state, result.version, foldStart(loaded.info))))).then(
        () => true,
        (error: unknown) => {
          // A lost snapshot loses no data (the log is whole), but it must not go unnoticed either.
          if (options.onSnapshotError) options.onSnapshotError(error);
          else process.emitWarning(`factum: snapshot of stream "${streamId}" at version ${result.version} failed: ${(error as Error)?.message ?? String(error)}`, 'FactumSnapshotWarning');
          return false;
        },
      );
    }
    return result;
  }
}
