/** Shipping: one stream per order's shipment; an order ships once, and a shipment is cancelled at most once. */
import type { Command, Decider } from '../../../src/index.js';
import type { ShipmentEvent, Warehouse } from '../events.js';

export interface ShipmentState {
  shipped: boolean;
  cancelled?: boolean;
  trackingNumber?: string;
}

export type ShipmentCommand = Command<'ShipOrder', { orderId: string; warehouse: Warehouse }> | Command<'CancelShipment', { orderId: string; warehouse: Warehouse }>;

/** A tracking number derived from the order id, so that deciding twice gives the same answer. */
export function trackingNumberOf(orderId: string): string {
  let hash = 2166136261;
  for (const char of orderId) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return `TRK${hash.toString(36).toUpperCase().padStart(7, '0')}`;
}

export const shipmentDecider: Decider<ShipmentState, ShipmentCommand, ShipmentEvent> = {
  name: 'shipment',
  initialState: () => ({ shipped: false }),
  evolve: (state, event) => (event.type === 'OrderShipped' ? { shipped: true, trackingNumber: event.data.trackingNumber } : { ...state, cancelled: true }),
  decide(command, state) {
    const { orderId, warehouse } = command.data;
    if (command.type === 'CancelShipment') {
      if (!state.shipped || state.cancelled) return [];
      return [{ type: 'ShipmentCancelled', data: { orderId, warehouse, trackingNumber: state.trackingNumber! } }];
    }
    if (state.shipped) return [];
    return [{ type: 'OrderShipped', data: { orderId, warehouse, trackingNumber: trackingNumberOf(orderId) } }];
  },
};
