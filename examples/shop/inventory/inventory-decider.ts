/**
 * Inventory: one stream per warehouse holding all its stock levels, so a reservation of several
 * lines is one atomic decision against one version. Such a stream grows with every order; the
 * decider opts in to snapshots every 100 events, so a command folds at most ~100 events.
 */
import { DomainError, type Command, type Decider } from '../../../src/index.js';
import type { InventoryEvent, Line, Warehouse } from '../events.js';

/** What Inventory remembers of an order: it decides each order once. */
export type OrderMark = { status: 'reserved'; lines: Line[] } | { status: 'short' | 'voided' | 'released' };

export interface InventoryState {
  /** Units on the shelf, per SKU (reserved units are no longer on it). */
  stock: Record<string, number>;
  orders: Record<string, OrderMark>;
}

export type InventoryCommand =
  | Command<'RestockItem', { warehouse: Warehouse; sku: string; quantity: number }>
  | Command<'ReserveStock', { orderId: string; warehouse: Warehouse; lines: Line[] }>
  | Command<'ReleaseStock', { orderId: string; warehouse: Warehouse }>;

const withStock = (stock: Record<string, number>, lines: readonly Line[], sign: 1 | -1): Record<string, number> => {
  const next = { ...stock };
  for (const line of lines) next[line.sku] = (next[line.sku] ?? 0) + sign * line.quantity;
  return next;
};

/** Units wanted per SKU: an order may name a SKU on two lines. */
function wanted(lines: readonly Line[]): Map<string, number> {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return bySku;
}

export const inventoryDecider: Decider<InventoryState, InventoryCommand, InventoryEvent> = {
  name: 'inventory',
  initialState: () => ({ stock: {}, orders: {} }),
  evolve(state, event) {
    switch (event.type) {
      case 'StockRestocked':
        return { ...state, stock: { ...state.stock, [event.data.sku]: (state.stock[event.data.sku] ?? 0) + event.data.quantity } };
      case 'InventoryReserved':
        return { stock: withStock(state.stock, event.data.lines, -1), orders: { ...state.orders, [event.data.orderId]: { status: 'reserved', lines: event.data.lines } } };
      case 'StockReleased':
        return { stock: withStock(state.stock, event.data.lines, 1), orders: { ...state.orders, [event.data.orderId]: { status: 'released' } } };
      case 'InsufficientStock':
        return { ...state, orders: { ...state.orders, [event.data.orderId]: { status: 'short' } } };
      case 'ReservationVoided':
        return { ...state, orders: { ...state.orders, [event.data.orderId]: { status: 'voided' } } };
    }
  },
  decide(command, state) {
    switch (command.type) {
      case 'RestockItem': {
        const { warehouse, sku, quantity } = command.data;
        if (!Number.isInteger(quantity) || quantity <= 0) throw new DomainError('InvalidQuantity', `Restock ${sku}: quantity must be a positive whole number`);
        return [{ type: 'StockRestocked', data: { warehouse, sku, quantity } }];
      }
      case 'ReserveStock': {
        const { orderId, warehouse, lines } = command.data;
        // Decided before (reserved or short), or cancelled before the payment arrived: nothing to do.
        if (state.orders[orderId]) return [];
        const missing = [...wanted(lines)]
          .map(([sku, want]) => ({ sku, wanted: want, available: state.stock[sku] ?? 0 }))
          .filter((m) => m.available < m.wanted);
        if (missing.length > 0) return [{ type: 'InsufficientStock', data: { orderId, warehouse, missing } }];
        return [{ type: 'InventoryReserved', data: { orderId, warehouse, lines } }];
      }
      case 'ReleaseStock': {
        const { orderId, warehouse } = command.data;
        const mark = state.orders[orderId];
        if (mark?.status === 'reserved') return [{ type: 'StockReleased', data: { orderId, warehouse, lines: mark.lines } }];
        // Not reserved yet: note the cancellation so that a payment still on its way reserves nothing.
        if (!mark) return [{ type: 'ReservationVoided', data: { orderId, warehouse } }];
        return [];
      }
    }
  },
  snapshot: { name: 'inventory', every: 100, version: 1 },
};
