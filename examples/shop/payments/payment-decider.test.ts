import { describe, it } from 'vitest';
import { DeciderSpecification } from '../../../src/testing.js';
import type { PaymentEvent } from '../events.js';
import { paymentDecider } from './payment-decider.js';

const spec = DeciderSpecification.for(paymentDecider);
const lines = [{ sku: 'mug', quantity: 1, priceCents: 890 }];
const charge = (card: string) => ({ type: 'ChargePayment' as const, data: { orderId: 'o1', amountCents: 890, card, warehouse: 'east' as const, lines } });
const succeeded: PaymentEvent = { type: 'PaymentSucceeded', data: { orderId: 'o1', amountCents: 890, warehouse: 'east', lines } };
const refund = { type: 'RefundPayment' as const, data: { orderId: 'o1', reason: 'out of stock' } };

describe('payment decider', () => {
  it('charges once; a declined card fails', () => {
    spec.given([]).when(charge('4242424242424242')).then([succeeded]);
    spec.given([succeeded]).when(charge('4242424242424242')).thenNothing();
    spec.given([]).when(charge('4000000000000002')).then([{ type: 'PaymentFailed', data: { orderId: 'o1', amountCents: 890, reason: 'card declined' } }]);
  });

  it('refunds a successful charge exactly once, and nothing else', () => {
    const refunded: PaymentEvent = { type: 'PaymentRefunded', data: { orderId: 'o1', amountCents: 890, reason: 'out of stock' } };
    spec.given([succeeded]).when(refund).then([refunded]);
    spec.given([succeeded, refunded]).when(refund).thenNothing();
    spec.given([]).when(refund).thenNothing();
    spec.given([{ type: 'PaymentFailed', data: { orderId: 'o1', amountCents: 890, reason: 'card declined' } }]).when(refund).thenNothing();
  });
});
