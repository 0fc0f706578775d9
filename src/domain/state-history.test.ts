// The state of a stream at each version, and what each event changed.
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import type { Decider } from './decider.js';
import { plainState, stateChanges } from './state-changes.js';
import { stateHistory } from './state-history.js';

type CartEvent = { type: 'ItemAdded'; data: { sku: string; quantity: number } } | { type: 'CheckedOut'; data: { at: string } };
interface Cart {
  lines: Map<string, number>;
  status: 'open' | 'checked out';
  checkedOutAt?: Date;
}
const cart: Decider<Cart, never, CartEvent> = {
  initialState: () => ({ lines: new Map(), status: 'open' }),
  // Changes its state in place, as careless deciders do: the history must not be rewritten by it.
  evolve: (state, event) => {
    if (event.type === 'ItemAdded') state.lines.set(event.data.sku, (state.lines.get(event.data.sku) ?? 0) + event.data.quantity);
    else return { ...state, status: 'checked out', checkedOutAt: new Date(event.data.at) };
    return state;
  },
  decide: () => [],
};

describe('stateHistory', () => {
  it('gives the state before a window of versions, the state after each event, and its changes', async () => {
    const store = new MemoryEventStore();
    await store.append('cart-1', [
      { type: 'ItemAdded', data: { sku: 'apple', quantity: 1 } },
      { type: 'ItemAdded', data: { sku: 'pear', quantity: 2 } },
      { type: 'ItemAdded', data: { sku: 'apple', quantity: 3 } },
      { type: 'CheckedOut', data: { at: '2026-12-01T10:00:00.000Z' } },
    ]);
    const history = await stateHistory(store, 'cart-1', cart, { from: 2, limit: 2 });
    expect(history.version).toBe(4);
    expect(history.before).toEqual({ lines: { apple: 1 }, status: 'open' });
    expect(history.steps.map((s) => s.event.streamVersion)).toEqual([2, 3]);
    expect(history.steps[0]!.state).toEqual({ lines: { apple: 1, pear: 2 }, status: 'open' });
    expect(history.steps[0]!.changes).toEqual([{ path: ['lines', 'pear'], kind: 'added', after: 2 }]);
    expect(history.steps[1]!.changes).toEqual([{ path: ['lines', 'apple'], kind: 'changed', before: 1, after: 4 }]);

    const last = await stateHistory(store, 'cart-1', cart, { from: 4 });
    expect(last.steps[0]!.changes).toEqual([
      { path: ['status'], kind: 'changed', before: 'open', after: 'checked out' },
      { path: ['checkedOutAt'], kind: 'added', after: '2026-12-01T10:00:00.000Z' },
    ]);
    // Past the end: no steps, and the state the stream holds.
    const beyond = await stateHistory(store, 'cart-1', cart, { from: 9 });
    expect(beyond.steps).toEqual([]);
    expect(beyond.before).toMatchObject({ status: 'checked out' });
    await expect(stateHistory(store, 'cart-1', cart, { from: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('compares objects key by key and lists whole', () => {
    expect(stateChanges({ a: 1, tags: ['x'] }, { tags: ['x', 'y'], b: true })).toEqual([
      { path: ['a'], kind: 'removed', before: 1 },
      { path: ['tags'], kind: 'changed', before: ['x'], after: ['x', 'y'] },
      { path: ['b'], kind: 'added', after: true },
    ]);
    expect(plainState(new Map([[1, new Set([2n])]]))).toEqual([[1, ['2']]]);
  });
});
