/**
 * What every service of the shop is made of: reactions to other services' events, each run as
 * one step of a choreographed saga on a checkpointed subscription with the inbox on. A step
 * runs a command through `handleCommand` with the order as correlation id and the triggering
 * event as causation id, so every event of a flow can be traced back to what caused it.
 *
 * The command runs on the handler's view of the store (`context.store`): its events, the inbox
 * row and the checkpoint commit in one transaction, so a reaction takes effect exactly once,
 * even across a crash. A snapshot is written only once that transaction committed: one of a
 * state that was rolled back would mislead every later load.
 */
import { handleCommand, Subscription, type Decider, type EventStore, type HandlerContext, type NewEvent, type RecordedEvent, type RetryPolicy, type SnapshotStore } from '../../src/index.js';
import type { Recorded, ShopEvent, ShopEventType } from './events.js';

/** Runs one command on behalf of the event that caused it. */
export type Step = <State, C, E extends NewEvent>(streamId: string, command: C, decider: Decider<State, C, E>) => Promise<void>;

/** A reaction to one event type: it gets that type's event. */
export type Reaction<T extends ShopEventType = ShopEventType> = (event: Recorded<Extract<ShopEvent, { type: T }>>, step: Step) => Promise<void>;

/** One service: a name (it names the subscription) and its reactions by event type. */
export interface ServiceDefinition {
  name: string;
  reactions: { [T in ShopEventType]?: Reaction<T> };
}

/** Short delays: in this demo a failure is a bug to show, not an outage to ride out. */
export const REACTION_RETRY_POLICY: RetryPolicy = { immediateRetries: 2, backoffRetries: 2, initialDelayMs: 50 };

export interface ServiceOptions {
  snapshots: SnapshotStore;
  /** Receives each snapshot write in flight (they run off the step's path), so that stopping can wait for them. */
  onSnapshot?: (written: Promise<boolean>) => void;
  /** Failed attempts (they are retried, then dead-lettered): counted for the report. */
  onError?: (error: unknown, event?: RecordedEvent) => void;
}

/**
 * A service's reactions as one handler, for whatever delivers the events: a `Subscription` on
 * the shared log (`startService`), or an `EventConsumer` per broker topic when each service runs
 * in a process of its own (bus/service-process.ts). Both give a `HandlerContext` whose `store`
 * appends in the transaction that also records the inbox row.
 */
export function reactionHandler(service: ServiceDefinition, options: ServiceOptions): (event: RecordedEvent, context: HandlerContext) => Promise<void> {
  return async (event, context) => {
    const snapshots = afterCommit(options.snapshots, context.committed);
    const step: Step = async (streamId, command, decider) => {
      const metadata = { correlationId: event.metadata.correlationId ?? event.streamId, causationId: event.id };
      const result = await handleCommand(context.store, streamId, { ...(command as object), metadata } as typeof command, decider, { snapshots });
      if (result.snapshot) options.onSnapshot?.(result.snapshot);
    };
    // Only the types the reactions are keyed by get here on a subscription (its filter); a broker
    // topic carries all of its category's events, and the others are passed over.
    const reaction = service.reactions[event.type as ShopEventType] as Reaction | undefined;
    await reaction?.(event as Recorded, step);
  };
}

/** Starts a service's subscription: from its checkpoint, so a restart continues where it stopped. */
export async function startService(store: EventStore, service: ServiceDefinition, options: ServiceOptions): Promise<Subscription> {
  const subscription = new Subscription(store, {
    name: service.name,
    filter: { types: Object.keys(service.reactions) },
    // A redelivered event (after a crash before the checkpoint moved) is recognised and skipped.
    inbox: true,
    batchSize: 20,
    retry: REACTION_RETRY_POLICY,
    pollIntervalMs: 250,
    ...(options.onError ? { onError: options.onError } : {}),
    handler: reactionHandler(service, options),
  });
  return subscription.start();
}

/** The snapshot store with its writes held until `committed` says the state they save is committed (and dropped if not). */
function afterCommit(snapshots: SnapshotStore, committed: Promise<boolean>): SnapshotStore {
  return {
    load: (streamId, name, version) => snapshots.load(streamId, name, version),
    save: async (snapshot) => {
      if (await committed) await snapshots.save(snapshot);
    },
    delete: (streamId, name) => snapshots.delete(streamId, name),
  };
}
