// InlineProjections as a runner like the others: start, stop, status, waitFor (memory store: the lifecycle, not the SQL).
import { expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import { InlineProjections } from './inline-projections.js';
import { defineProjection } from './projection.js';

const counter = (seen: string[]) => defineProjection({ name: 'seen', handlers: { Seen: (event) => void seen.push(event.streamId) } });

it('runs in appends from start to stop, says so in status, and waitFor answers at once while running', async () => {
  const store = new MemoryEventStore();
  const seen: string[] = [];
  const inline = new InlineProjections(store, [counter(seen)]);
  expect(inline.status()).toEqual({ state: 'stopped', projections: ['seen'] });
  await store.append('s-1', [{ type: 'Seen', data: {} }]);
  expect(await inline.start()).toBe(inline);
  const { lastPosition } = await store.append('s-2', [{ type: 'Seen', data: {} }]);
  await inline.waitFor(lastPosition);
  expect(inline.status().state).toBe('running');
  await inline.stop();
  await store.append('s-3', [{ type: 'Seen', data: {} }]);
  expect(seen).toEqual(['s-2']);
  expect(await caught(inline.waitFor(lastPosition))).toMatchObject({ code: 'WAIT_TIMEOUT' });
});

it('stopping a runner leaves a later start of the same projection running', async () => {
  const store = new MemoryEventStore();
  const seen: string[] = [];
  const first = await new InlineProjections(store, [counter(seen)]).start();
  const second = await new InlineProjections(store, [counter(seen)]).start();
  await first.stop();
  await store.append('s-1', [{ type: 'Seen', data: {} }]);
  await second.stop();
  await store.append('s-2', [{ type: 'Seen', data: {} }]);
  expect(seen).toEqual(['s-1']);
});
