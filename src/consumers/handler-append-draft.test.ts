// The memory store: a handler that catches the error of a refused append and returns has its
// draft ended with the failure, so the store's other writers are not held back by it for good.
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import { Subscription } from './subscription.js';
import { eventually } from '../../test/runner-suites/helpers.js';

describe('a handler that swallows a refused append (memory store)', () => {
  it('fails that delivery and leaves the store writable', async () => {
    const store = new MemoryEventStore();
    await store.append('taken-1', [{ type: 'Taken', data: {} }]);
    const refused: unknown[] = [];
    const sub = new Subscription(store, {
      name: 'swallower',
      filter: { types: ['Go'] },
      retry: { immediateRetries: 0, backoffRetries: 0 },
      onError: (error) => refused.push(error),
      handler: async (_event, context) => {
        await context.append('taken-1', [{ type: 'Again', data: {} }], { expectedVersion: 'no_stream' }).catch(() => undefined);
      },
    });
    await sub.start();
    try {
      await store.append('go-1', [{ type: 'Go', data: {} }]);
      await eventually(async () => (await sub.deadLetters()).length === 1, 10_000, 'the delivery dead-lettered');
      expect((refused[0] as { code?: string }).code).toBe('CONCURRENCY_CONFLICT');
      // Held back for good before: the draft of the failed delivery was never ended.
      const after = await store.append('other-1', [{ type: 'Other', data: {} }]);
      expect(after.nextExpectedVersion).toBe(1);
      expect((await store.loadStream('taken-1')).events.map((e) => e.type)).toEqual(['Taken']);
    } finally {
      await sub.stop();
    }
  });
});
