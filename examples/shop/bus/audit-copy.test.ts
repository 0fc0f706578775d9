import { expect, it } from 'vitest';
import type { RecordedEvent } from '../../../src/index.js';
import { mergeLogs } from './audit-copy.js';

let position = 0n;
function event(id: string, streamId: string, streamVersion: number, at: number, causationId?: string): RecordedEvent {
  return { id, type: 'T', data: {}, metadata: causationId ? { causationId } : {}, streamId, streamVersion, globalPosition: ++position, recordedAt: new Date(at), schemaVersion: 1 };
}

it('merges the logs by time, never putting an event before its cause or its stream predecessor', () => {
  // Two services' logs; the effect shares its millisecond with its cause, and is listed first.
  const payments = [event('p1', 'payment-1', 1, 10, 'o1'), event('p2', 'payment-1', 2, 30, 'o2')];
  const orders = [event('o1', 'order-1', 1, 10), event('o2', 'order-1', 2, 20), event('o3', 'order-1', 3, 40, 'p2')];
  // A stream whose second event waits for its cause: the third must wait behind it.
  const inventory = [event('i1', 'inventory-east', 1, 5), event('i2', 'inventory-east', 2, 10, 'o1'), event('i3', 'inventory-east', 3, 10)];
  const merged = mergeLogs([payments, inventory, orders]).map((e) => e.id);
  expect(merged).toHaveLength(8);
  const before = (a: string, b: string) => expect(merged.indexOf(a), `${a} before ${b}`).toBeLessThan(merged.indexOf(b));
  before('o1', 'p1');
  before('o1', 'i2');
  before('i2', 'i3');
  before('o2', 'p2');
  before('p1', 'p2');
  before('p2', 'o3');
  expect(merged[0]).toBe('i1');
});

it('refuses logs that cannot be merged: a stream version missing', () => {
  expect(() => mergeLogs([[event('a', 's-1', 2, 1)]])).toThrow(/cannot be merged/);
});
