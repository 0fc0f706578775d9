/** Orders reacts to the other services: compensations cancel, a reservation readies, a shipment confirms. */
import { orderStream } from '../events.js';
import type { ServiceDefinition } from '../service.js';
import { orderDecider } from './order-decider.js';

export const ordersService: ServiceDefinition = {
  name: 'orders',
  reactions: {
    PaymentFailed: async (event, step) => {
      const { orderId } = event.data;
      await step(orderStream(orderId), { type: 'CancelOrder', data: { orderId, reason: 'payment-failed' } }, orderDecider);
    },
    InsufficientStock: async (event, step) => {
      const { orderId } = event.data;
      await step(orderStream(orderId), { type: 'CancelOrder', data: { orderId, reason: 'out-of-stock' } }, orderDecider);
    },
    InventoryReserved: async (event, step) => {
      const { orderId } = event.data;
      await step(orderStream(orderId), { type: 'MarkReadyToShip', data: { orderId } }, orderDecider);
    },
    OrderShipped: async (event, step) => {
      const { orderId, trackingNumber } = event.data;
      await step(orderStream(orderId), { type: 'ConfirmOrder', data: { orderId, trackingNumber } }, orderDecider);
    },
  },
};
