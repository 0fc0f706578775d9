import type { AllFilter, EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import { partitionOf } from './partition-of.js';

/** One page read by a subscription: events after `after`, the new resume point, and the head. */
export interface SourcePage {
  events: RecordedEvent[];
  position: bigint;
  head: bigint;
  /** Set while an open append transaction holds the read back. */
  waitingOn?: { position: bigint; since?: Date };
}

/**
 * What a subscription reads: `$all` (filtered, maybe one partition of it; positions are global
 * positions) or one stream (positions are its versions). Events come as stored: the subscription
 * upcasts them one by one.
 *
 * @example
 * const source = subscriptionSource(store, { filter: { types: ['OrderPlaced'] } })
 * const page = await source.readPage(0n, 100)
 */
export interface SubscriptionSource {
  /** Where `event` stands in this source's positions. */
  positionOf(event: RecordedEvent): bigint;
  /** The last position now (the head of `$all`, or the stream's version). */
  head(): Promise<bigint>;
  /** The first event after `after`, if any (for the age of the lag). */
  next(after: bigint): Promise<RecordedEvent | undefined>;
  readPage(after: bigint, limit: number): Promise<SourcePage>;
  /** Whether events of this stream belong here (the partition, if any). */
  covers(streamId: string): boolean;
}

/**
 * The source of a subscription's options: one stream when `stream` is set, else `$all`.
 *
 * @example
 * subscriptionSource(store, { stream: 'order-1' }).head() // the stream's version
 */
export function subscriptionSource(store: EventStore, options: { stream?: string; filter?: AllFilter; partition?: { index: number; count: number } }): SubscriptionSource {
  return options.stream ? new StreamSource(store, options.stream) : new AllSource(store, options.filter, options.partition);
}

class AllSource implements SubscriptionSource {
  constructor(
    private readonly store: EventStore,
    private readonly filter: AllFilter | undefined,
    private readonly partition: { index: number; count: number } | undefined,
  ) {}

  positionOf(event: RecordedEvent): bigint {
    return event.globalPosition;
  }

  head(): Promise<bigint> {
    return this.store.headPosition();
  }

  async next(after: bigint): Promise<RecordedEvent | undefined> {
    return (await this.store.readAllPage({ ...this.filter, after, limit: 1 })).events[0];
  }

  covers(streamId: string): boolean {
    return !this.partition || partitionOf(streamId, this.partition.count) === this.partition.index;
  }

  async readPage(after: bigint, limit: number): Promise<SourcePage> {
    const page = await this.store.readAllPage({ ...this.filter, after, limit });
    return {
      events: page.events.filter((e) => this.covers(e.streamId)),
      position: page.position,
      head: page.headPosition,
      ...(page.waitingOn ? { waitingOn: { position: page.waitingOn.position, ...(page.waitingOn.since ? { since: page.waitingOn.since } : {}) } } : {}),
    };
  }
}

class StreamSource implements SubscriptionSource {
  constructor(
    private readonly store: EventStore,
    private readonly stream: string,
  ) {}

  positionOf(event: RecordedEvent): bigint {
    return BigInt(event.streamVersion);
  }

  async head(): Promise<bigint> {
    return BigInt((await this.store.streamInfo(this.stream)).version);
  }

  async next(after: bigint): Promise<RecordedEvent | undefined> {
    for await (const event of this.store.readStream(this.stream, { fromVersion: Number(after) + 1, limit: 1 })) return event;
    return undefined;
  }

  covers(): boolean {
    return true;
  }

  async readPage(after: bigint, limit: number): Promise<SourcePage> {
    const events: RecordedEvent[] = [];
    const head = await this.head();
    // Versions of one stream commit in order (the stream row is locked by each append): no holes to wait on.
    for await (const event of this.store.readStream(this.stream, { fromVersion: Number(after) + 1, limit })) events.push(event);
    const last = events[events.length - 1];
    return { events, position: last ? BigInt(last.streamVersion) : after, head };
  }
}
