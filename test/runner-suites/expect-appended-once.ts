import { expect } from 'vitest';
import type { SqlEventStore } from '../../src/store/sql/sql-event-store.js';
import { appendingSubscriber } from './appending-subscriber.js';

/**
 * After a crash between the handler and its commit: neither the appended event, nor the row,
 * nor the checkpoint is there; a restarted subscriber then acknowledges the order exactly once.
 */
export async function expectRolledBackThenAppendedOnce(store: SqlEventStore, lastPosition: bigint): Promise<void> {
  const s = store.names.s;
  expect((await store.loadStream('ack-order-1')).events).toEqual([]);
  expect((await store.client.query(`SELECT * FROM ${s}acks`)).rows).toEqual([]);
  const checkpoint = (await store.client.query<{ position: string }>(`SELECT position FROM ${s}checkpoints WHERE name = 'acknowledge'`)).rows[0];
  expect(BigInt(checkpoint?.position ?? 0)).toBeLessThan(lastPosition);

  const restarted = appendingSubscriber(store);
  await restarted.start();
  try {
    await restarted.waitFor(lastPosition, { timeoutMs: 20_000 });
  } finally {
    await restarted.stop();
  }
  expect((await store.loadStream('ack-order-1')).events.map((e) => e.type)).toEqual(['OrderAcknowledged']);
  expect((await store.client.query(`SELECT order_id FROM ${s}acks`)).rows).toEqual([{ order_id: 'order-1' }]);
}
