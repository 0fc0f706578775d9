import { describe, it } from 'vitest';
import { DeciderSpecification } from '../../../src/testing.js';
import type { OrderEvent } from '../events.js';
import { orderDecider } from './order-decider.js';

const spec = DeciderSpecification.for(orderDecider);
const lines = [{ sku: 'mug', quantity: 2, priceCents: 890 }];
const placed: OrderEvent = { type: 'OrderPlaced', data: { orderId: 'o1', customer: 'ada', warehouse: 'east', lines, totalCents: 1780, card: '4242' } };
const ready: OrderEvent = { type: 'OrderReadyToShip', data: { orderId: 'o1', warehouse: 'east', lines } };
const cancelled: OrderEvent = { type: 'OrderCancelled', data: { orderId: 'o1', customer: 'ada', warehouse: 'east', reason: 'customer' } };

describe('order decider', () => {
  it('places an order with its total, once', () => {
    const place = { type: 'PlaceOrder' as const, data: { orderId: 'o1', customer: 'ada', warehouse: 'east' as const, lines, card: '4242' } };
    spec.given([]).when(place).then([placed]);
    spec.given([placed]).when(place).thenNothing();
  });

  it('cancels a placed order; a second cancel is a no-op', () => {
    spec.given([placed]).when({ type: 'CancelOrder', data: { orderId: 'o1', reason: 'customer' } }).then([cancelled]);
    spec.given([placed, cancelled]).when({ type: 'CancelOrder', data: { orderId: 'o1', reason: 'out-of-stock' } }).thenNothing();
  });

  it('refuses to cancel once the order is ready to ship: cancel and shipment exclude each other', () => {
    spec.given([placed, ready]).when({ type: 'CancelOrder', data: { orderId: 'o1', reason: 'customer' } }).thenThrows('TooLateToCancel');
    spec.given([placed, cancelled]).when({ type: 'MarkReadyToShip', data: { orderId: 'o1' } }).thenNothing();
  });

  it('confirms only a shipping order, once', () => {
    const confirm = { type: 'ConfirmOrder' as const, data: { orderId: 'o1', trackingNumber: 'TRK1' } };
    const confirmed: OrderEvent = { type: 'OrderConfirmed', data: { orderId: 'o1', customer: 'ada', trackingNumber: 'TRK1' } };
    spec.given([placed, ready]).when(confirm).then([confirmed]);
    spec.given([placed, ready, confirmed]).when(confirm).thenNothing();
    spec.given([placed]).when(confirm).thenThrows('NotShipping');
  });

  it('completes a checkout straight from placed, once; never for a cancelled order', () => {
    const complete = { type: 'CompleteCheckout' as const, data: { orderId: 'o1', trackingNumber: 'TRK1' } };
    const confirmed: OrderEvent = { type: 'OrderConfirmed', data: { orderId: 'o1', customer: 'ada', trackingNumber: 'TRK1' } };
    spec.given([placed]).when(complete).then([confirmed]);
    spec.given([placed, confirmed]).when(complete).thenNothing();
    spec.given([placed, cancelled]).when(complete).thenThrows('OrderNotOpen');
  });
});
