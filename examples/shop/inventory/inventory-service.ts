/**
 * Inventory reserves paid orders and releases the reservations of cancelled ones. Whichever of
 * PaymentSucceeded and OrderCancelled it sees first, the warehouse's state keeps the two
 * consistent: a reservation is released, or a cancellation noted so that nothing is reserved.
 */
import { inventoryStream } from '../events.js';
import type { ServiceDefinition } from '../service.js';
import { inventoryDecider } from './inventory-decider.js';

export const inventoryService: ServiceDefinition = {
  name: 'inventory',
  reactions: {
    PaymentSucceeded: async (event, step) => {
      const { orderId, warehouse, lines } = event.data;
      await step(inventoryStream(warehouse), { type: 'ReserveStock', data: { orderId, warehouse, lines } }, inventoryDecider);
    },
    OrderCancelled: async (event, step) => {
      const { orderId, warehouse } = event.data;
      await step(inventoryStream(warehouse), { type: 'ReleaseStock', data: { orderId, warehouse } }, inventoryDecider);
    },
  },
};
