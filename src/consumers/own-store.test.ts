// A store of one's own (the EventStore port and no capabilities) is recognised by what it
// declares, not by class: subscriptions keep their checkpoints in memory beside it, shared by
// every registry wrapped around it; inline projections are refused.
import { afterEach, describe, expect, it } from 'vitest';
import { ownStore } from '../../test/own-store.js';
import { caught, ev } from '../../test/runner-suites/helpers.js';
import type { RecordedEvent } from '../core/message.js';
import { InlineProjections } from '../projections/inline-projections.js';
import { defineProjection } from '../projections/projection.js';
import { EventRegistry } from '../schema/event-registry.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import { Subscription } from './subscription.js';

describe('a store of your own', () => {
  const running: Subscription[] = [];
  afterEach(async () => {
    for (const sub of running.splice(0)) await sub.stop();
  });
  const start = async (store: ConstructorParameters<typeof Subscription>[0], seen: RecordedEvent[]) => {
    const sub = new Subscription(store, { name: 'orders', handler: (e) => void seen.push(e) });
    running.push(sub);
    return sub.start();
  };

  it('runs subscriptions, and resumes from a checkpoint shared by the store and its registry wrappers', async () => {
    const store = ownStore(new MemoryEventStore());
    const wrapped = new EventRegistry().wrap(store);
    await store.append('order-1', [ev('OrderPlaced'), ev('OrderPaid')]);
    const first: RecordedEvent[] = [];
    const sub = await start(wrapped, first);
    const live = await store.append('order-2', [ev('OrderPlaced')]);
    await sub.waitFor(live.lastPosition);
    expect(first.map((e) => [e.streamId, e.type])).toEqual([['order-1', 'OrderPlaced'], ['order-1', 'OrderPaid'], ['order-2', 'OrderPlaced']]);
    await sub.stop();

    const later = await store.append('order-3', [ev('OrderPlaced')]);
    const second: RecordedEvent[] = [];
    const resumed = await start(store, second);
    await resumed.waitFor(later.lastPosition);
    expect(second.map((e) => e.streamId)).toEqual(['order-3']);
  });

  it('refuses inline projections with INVALID_ARGUMENT', async () => {
    const store = ownStore(new MemoryEventStore());
    const error = await caught(new InlineProjections(store, [defineProjection({ name: 'totals', handlers: { OrderPlaced: () => {} } })]).start());
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
