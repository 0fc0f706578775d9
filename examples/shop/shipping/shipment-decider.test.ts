import { describe, it } from 'vitest';
import { DeciderSpecification } from '../../../src/testing.js';
import { shipmentDecider, trackingNumberOf } from './shipment-decider.js';

const spec = DeciderSpecification.for(shipmentDecider);

describe('shipment decider', () => {
  it('ships an order once, with a tracking number that deciding again reproduces', () => {
    const ship = { type: 'ShipOrder' as const, data: { orderId: 'o1', warehouse: 'west' as const } };
    const shipped = { type: 'OrderShipped' as const, data: { orderId: 'o1', warehouse: 'west' as const, trackingNumber: trackingNumberOf('o1') } };
    spec.given([]).when(ship).then([shipped]);
    spec.given([shipped]).when(ship).thenNothing();
  });

  it('cancels a shipment that left, once, and nothing that never shipped', () => {
    const shipped = { type: 'OrderShipped' as const, data: { orderId: 'o1', warehouse: 'west' as const, trackingNumber: trackingNumberOf('o1') } };
    const cancel = { type: 'CancelShipment' as const, data: { orderId: 'o1', warehouse: 'west' as const } };
    const cancelled = { type: 'ShipmentCancelled' as const, data: { orderId: 'o1', warehouse: 'west' as const, trackingNumber: trackingNumberOf('o1') } };
    spec.given([shipped]).when(cancel).then([cancelled]);
    spec.given([shipped, cancelled]).when(cancel).thenNothing();
    spec.given([]).when(cancel).thenNothing();
  });
});
