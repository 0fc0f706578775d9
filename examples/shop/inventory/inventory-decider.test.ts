import { describe, it } from 'vitest';
import { DeciderSpecification } from '../../../src/testing.js';
import type { InventoryEvent } from '../events.js';
import { inventoryDecider } from './inventory-decider.js';

const spec = DeciderSpecification.for(inventoryDecider);
const lines = [
  { sku: 'mug', quantity: 2, priceCents: 890 },
  { sku: 'mug', quantity: 2, priceCents: 890 },
];
const restocked = (quantity: number): InventoryEvent => ({ type: 'StockRestocked', data: { warehouse: 'east', sku: 'mug', quantity } });
const reserve = { type: 'ReserveStock' as const, data: { orderId: 'o1', warehouse: 'east' as const, lines } };
const reserved: InventoryEvent = { type: 'InventoryReserved', data: { orderId: 'o1', warehouse: 'east', lines } };
const release = { type: 'ReleaseStock' as const, data: { orderId: 'o1', warehouse: 'east' as const } };

describe('inventory decider', () => {
  it('reserves all lines at once, counting a SKU named twice, and only once per order', () => {
    spec.given([restocked(4)]).when(reserve).then([reserved]);
    spec.given([restocked(4), reserved]).when(reserve).thenNothing();
    spec.given([restocked(3)]).when(reserve).then([{ type: 'InsufficientStock', data: { orderId: 'o1', warehouse: 'east', missing: [{ sku: 'mug', wanted: 4, available: 3 }] } }]);
  });

  it('releases a reservation of a cancelled order, or notes the cancellation so a late payment reserves nothing', () => {
    spec.given([restocked(4), reserved]).when(release).then([{ type: 'StockReleased', data: { orderId: 'o1', warehouse: 'east', lines } }]);
    spec.given([restocked(4)]).when(release).then([{ type: 'ReservationVoided', data: { orderId: 'o1', warehouse: 'east' } }]);
    spec.given([restocked(4), { type: 'ReservationVoided', data: { orderId: 'o1', warehouse: 'east' } }]).when(reserve).thenNothing();
  });

  it('keeps the stock in its state, and refuses a restock of nothing', () => {
    spec.given([restocked(10), reserved]).when(reserve).thenState({ stock: { mug: 6 }, orders: { o1: { status: 'reserved', lines } } });
    spec.given([]).when({ type: 'RestockItem', data: { warehouse: 'east', sku: 'mug', quantity: 0 } }).thenThrows('InvalidQuantity');
  });
});
