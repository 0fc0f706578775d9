/**
 * Orders per customer (inline projection): updated inside the very transaction that appends the
 * order's events, so it is never behind the log; a customer sees their new order at once.
 */
import { defineProjection, type ProjectionContext } from '../../../src/index.js';
import type { ShopEvent } from '../events.js';
import { sqlOf } from '../read-models/sql-of.js';

async function add(context: ProjectionContext, customer: string, placed: number, confirmed: number, cancelled: number, orderedCents: number): Promise<void> {
  await sqlOf(context).query(
    `INSERT INTO ${context.table('customer_orders')} AS c (customer, placed, confirmed, cancelled, ordered_cents) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (customer) DO UPDATE SET placed = c.placed + $2, confirmed = c.confirmed + $3, cancelled = c.cancelled + $4,
       ordered_cents = c.ordered_cents + $5`,
    [customer, placed, confirmed, cancelled, orderedCents],
  );
}

export const customerOrders = defineProjection<ShopEvent>({
  name: 'customer-orders',
  tables: {
    customer_orders: (t) => `CREATE TABLE ${t} (
      customer text PRIMARY KEY, placed integer NOT NULL, confirmed integer NOT NULL, cancelled integer NOT NULL, ordered_cents bigint NOT NULL)`,
  },
  handlers: {
    OrderPlaced: (event, context) => add(context, event.data.customer, 1, 0, 0, event.data.totalCents),
    OrderConfirmed: (event, context) => add(context, event.data.customer, 0, 1, 0, 0),
    OrderCancelled: (event, context) => add(context, event.data.customer, 0, 0, 1, 0),
  },
});
