/** Order summary (async projection): one row per order with its status, payment and shipment as they evolve. */
import { defineProjection, type ProjectionContext, type RecordedEvent } from '../../../src/index.js';
import type { ShopEvent } from '../events.js';
import { sqlOf } from '../read-models/sql-of.js';

/** Sets some columns of an order's row (it exists: OrderPlaced comes first in the log). */
async function update(context: ProjectionContext, event: RecordedEvent, orderId: string, column: string, value: string): Promise<void> {
  await sqlOf(context).query(`UPDATE ${context.table('order_summary')} SET ${column} = $2, updated_at = $3 WHERE order_id = $1`, [orderId, value, event.recordedAt]);
}

export const orderSummary = defineProjection<ShopEvent>({
  name: 'order-summary',
  tables: {
    order_summary: (t) => `CREATE TABLE ${t} (
      order_id text PRIMARY KEY, customer text NOT NULL, warehouse text NOT NULL, total_cents bigint NOT NULL,
      status text NOT NULL, payment text NOT NULL, tracking_number text, cancel_reason text,
      placed_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`,
  },
  handlers: {
    OrderPlaced: async (event, context) => {
      const { orderId, customer, warehouse, totalCents } = event.data;
      await sqlOf(context).query(
        `INSERT INTO ${context.table('order_summary')} (order_id, customer, warehouse, total_cents, status, payment, placed_at, updated_at)
         VALUES ($1, $2, $3, $4, 'placed', 'pending', $5, $5)`,
        [orderId, customer, warehouse, totalCents, event.recordedAt],
      );
    },
    OrderCancelled: async (event, context) => {
      await update(context, event, event.data.orderId, 'status', 'cancelled');
      await update(context, event, event.data.orderId, 'cancel_reason', event.data.reason);
    },
    OrderReadyToShip: (event, context) => update(context, event, event.data.orderId, 'status', 'ready-to-ship'),
    OrderConfirmed: (event, context) => update(context, event, event.data.orderId, 'status', 'confirmed'),
    PaymentSucceeded: (event, context) => update(context, event, event.data.orderId, 'payment', 'paid'),
    PaymentFailed: (event, context) => update(context, event, event.data.orderId, 'payment', 'declined'),
    PaymentRefunded: (event, context) => update(context, event, event.data.orderId, 'payment', 'refunded'),
    // The orchestrated checkout holds the amount first and takes it last.
    PaymentAuthorised: (event, context) => update(context, event, event.data.orderId, 'payment', 'authorised'),
    AuthorisationVoided: (event, context) => update(context, event, event.data.orderId, 'payment', 'voided'),
    PaymentCaptured: (event, context) => update(context, event, event.data.orderId, 'payment', 'paid'),
    OrderShipped: (event, context) => update(context, event, event.data.orderId, 'tracking_number', event.data.trackingNumber),
  },
});
