/** Revenue per day (async projection): money charged and refunded, by the UTC day the fact was recorded. */
import { defineProjection, type ProjectionContext, type RecordedEvent } from '../../../src/index.js';
import type { ShopEvent } from '../events.js';
import { sqlOf } from '../read-models/sql-of.js';

async function add(context: ProjectionContext, event: RecordedEvent, charged: number, refunded: number): Promise<void> {
  await sqlOf(context).query(
    `INSERT INTO ${context.table('revenue_per_day')} AS r (day, charged_cents, refunded_cents, payments, refunds) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (day) DO UPDATE SET charged_cents = r.charged_cents + $2, refunded_cents = r.refunded_cents + $3,
       payments = r.payments + $4, refunds = r.refunds + $5`,
    [event.recordedAt.toISOString().slice(0, 10), charged, refunded, charged > 0 ? 1 : 0, refunded > 0 ? 1 : 0],
  );
}

export const revenuePerDay = defineProjection<ShopEvent>({
  name: 'revenue-per-day',
  tables: {
    revenue_per_day: (t) => `CREATE TABLE ${t} (
      day date PRIMARY KEY, charged_cents bigint NOT NULL, refunded_cents bigint NOT NULL, payments integer NOT NULL, refunds integer NOT NULL)`,
  },
  handlers: {
    PaymentSucceeded: (event, context) => add(context, event, event.data.amountCents, 0),
    // The orchestrated checkout's charge: an authorisation is no money yet, a capture is.
    PaymentCaptured: (event, context) => add(context, event, event.data.amountCents, 0),
    PaymentRefunded: (event, context) => add(context, event, 0, event.data.amountCents),
  },
});
