/** Shipping ships what Orders has made ready: never a cancelled order, since readiness and cancellation exclude each other. */
import { shipmentStream } from '../events.js';
import type { ServiceDefinition } from '../service.js';
import { shipmentDecider } from './shipment-decider.js';

export const shippingService: ServiceDefinition = {
  name: 'shipping',
  reactions: {
    OrderReadyToShip: async (event, step) => {
      const { orderId, warehouse } = event.data;
      await step(shipmentStream(orderId), { type: 'ShipOrder', data: { orderId, warehouse } }, shipmentDecider);
    },
  },
};
