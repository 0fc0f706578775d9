// Checks shared by the workflow suites (kept out of order-workflow.ts, which worker processes import without vitest).
import { expect } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { WorkflowQueries } from '../../src/sagas/workflow-queries.js';
import { eventually } from './helpers.js';
import type { OrderInput, OrderState } from './order-workflow.js';

/** Places `orders` orders, each paid at once while its payment timer (spaced by `spacingMs`) may fire: answers race timers. */
export async function placeRacingOrders(store: EventStore, orders: number, spacingMs: number, spread: number): Promise<void> {
  for (let i = 0; i < orders; i++) {
    await store.append(`shop-${i}`, [{ type: 'OrderPlaced', data: { orderId: String(i), payWithinMs: (i % spread) * spacingMs } }]);
    await store.append(`pay-${i}`, [{ type: 'PaymentReceived', data: { orderId: String(i) } }]);
  }
}

/** Every order completed once, paid or expired, and no timer left. */
export async function expectSettledOnce(queries: WorkflowQueries<OrderState, OrderInput>, orders: number): Promise<void> {
  await eventually(async () => (await queries.instances({ status: 'completed' })).length === orders, 30_000, 'every order settled');
  for (let i = 0; i < orders; i++) {
    const instance = (await queries.instance(String(i)))!;
    expect(instance.log.filter((e) => e.type === 'WorkflowCompleted')).toHaveLength(1);
    expect(['paid', 'expired']).toContain(instance.result);
  }
  expect(await queries.timers()).toEqual([]);
}
