import type { EventStore } from '../core/event-store.js';
import type { AppendResult, NewEvent, RecordedEvent } from '../core/message.js';
import { eventRegistryOf } from '../schema/registered-event-store.js';

/**
 * The events of an append as the store recorded them, rebuilt from its result instead of read
 * back: ids, versions and positions are the stored ones, `recordedAt` is this process's clock.
 * Every event needs its `id` set before the append.
 *
 * @example
 * const result = await store.append('cart-1', events, { expectedVersion: 3 })
 * const recorded = recordedEvents(store, 'cart-1', events, result)
 */
export function recordedEvents(store: EventStore, streamId: string, events: NewEvent[], result: AppendResult, recordedAt = new Date()): RecordedEvent[] {
  const first = result.nextExpectedVersion - events.length + 1;
  return events.map((e, i) => ({
    id: e.id!,
    type: e.type,
    data: e.data,
    metadata: e.metadata ?? {},
    // A registry in front of the store fills in the current version of a registered type.
    schemaVersion: e.schemaVersion ?? eventRegistryOf(store)?.get(e.type)?.version ?? 1,
    streamId,
    streamVersion: first + i,
    globalPosition: result.positions[i]!,
    recordedAt,
  }));
}
