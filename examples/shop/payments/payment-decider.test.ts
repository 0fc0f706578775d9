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

  it('authorises, then captures or voids the hold, once; a declined card fails, a capture may be declined or called off', () => {
    const authorise = (card: string) => ({ type: 'AuthorisePayment' as const, data: { orderId: 'o1', amountCents: 890, card } });
    const capture = (card: string, refusal?: string) => ({ type: 'CapturePayment' as const, data: { orderId: 'o1', card, ...(refusal ? { refusal } : {}) } });
    const voidIt = { type: 'VoidAuthorisation' as const, data: { orderId: 'o1', reason: 'checkout compensated' } };
    const authorised: PaymentEvent = { type: 'PaymentAuthorised', data: { orderId: 'o1', amountCents: 890 } };
    const captured: PaymentEvent = { type: 'PaymentCaptured', data: { orderId: 'o1', amountCents: 890 } };
    const voided: PaymentEvent = { type: 'AuthorisationVoided', data: { orderId: 'o1', amountCents: 890, reason: 'checkout compensated' } };
    spec.given([]).when(authorise('4242424242424242')).then([authorised]);
    spec.given([authorised]).when(authorise('4242424242424242')).thenNothing();
    spec.given([]).when(authorise('4000000000000002')).then([{ type: 'PaymentFailed', data: { orderId: 'o1', amountCents: 890, reason: 'card declined' } }]);
    spec.given([authorised]).when(capture('4242424242424242')).then([captured]);
    spec.given([authorised, captured]).when(capture('4242424242424242')).thenNothing();
    spec.given([authorised, captured]).when(voidIt).thenNothing();
    const declined: PaymentEvent = { type: 'CaptureFailed', data: { orderId: 'o1', amountCents: 890, reason: 'capture declined by the issuer' } };
    spec.given([authorised]).when(capture('4000000000000341')).then([declined]);
    spec.given([authorised]).when(capture('4242424242424242', 'the order is cancelled')).then([{ type: 'CaptureFailed', data: { orderId: 'o1', amountCents: 890, reason: 'the order is cancelled' } }]);
    // After a failed capture the hold is still there, to be voided, once; nothing is captured after a void.
    spec.given([authorised, declined]).when(voidIt).then([voided]);
    spec.given([authorised, voided]).when(voidIt).thenNothing();
    spec.given([authorised, voided]).when(capture('4242424242424242')).thenNothing();
    spec.given([]).when(capture('4242424242424242')).thenNothing();
    // Voided before the issuer answered: a late authorisation is refused.
    const early: PaymentEvent = { type: 'AuthorisationVoided', data: { orderId: 'o1', amountCents: 0, reason: 'checkout compensated' } };
    spec.given([]).when(voidIt).then([early]);
    spec.given([early]).when(authorise('4242424242424242')).thenNothing();
  });
});
