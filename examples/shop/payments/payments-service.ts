/**
 * Payments charges placed orders and refunds when an order is cancelled or its stock is short.
 * Both compensations may ask for the same refund: the payment's state grants it once.
 */
import { paymentStream } from '../events.js';
import type { ServiceDefinition } from '../service.js';
import { paymentDecider } from './payment-decider.js';

export const paymentsService: ServiceDefinition = {
  name: 'payments',
  reactions: {
    OrderPlaced: async (event, step) => {
      const { orderId, totalCents, card, warehouse, lines } = event.data;
      await step(paymentStream(orderId), { type: 'ChargePayment', data: { orderId, amountCents: totalCents, card, warehouse, lines } }, paymentDecider);
    },
    OrderCancelled: async (event, step) => {
      const { orderId, reason } = event.data;
      await step(paymentStream(orderId), { type: 'RefundPayment', data: { orderId, reason: `order cancelled (${reason})` } }, paymentDecider);
    },
    InsufficientStock: async (event, step) => {
      const { orderId } = event.data;
      await step(paymentStream(orderId), { type: 'RefundPayment', data: { orderId, reason: 'out of stock' } }, paymentDecider);
    },
  },
};
