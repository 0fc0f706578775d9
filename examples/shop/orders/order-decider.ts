/**
 * Orders: one stream per order, the single authority on the order's fate. Its expected version
 * serialises the competing decisions (a customer's cancel, a compensation, the move to
 * shipping), so a cancelled order never ships and a shipping order is never cancelled.
 */
import { DomainError, type Command, type Decider } from '../../../src/index.js';
import { totalOf, type CancelReason, type Line, type OrderEvent, type Warehouse } from '../events.js';

export type OrderStatus = 'none' | 'placed' | 'ready-to-ship' | 'confirmed' | 'cancelled';

export interface OrderState {
  status: OrderStatus;
  orderId?: string;
  customer?: string;
  warehouse?: Warehouse;
  lines?: Line[];
}

export type OrderCommand =
  | Command<'PlaceOrder', { orderId: string; customer: string; warehouse: Warehouse; lines: Line[]; card: string }>
  | Command<'CancelOrder', { orderId: string; reason: CancelReason }>
  | Command<'MarkReadyToShip', { orderId: string }>
  | Command<'ConfirmOrder', { orderId: string; trackingNumber: string }>
  /** The orchestrated checkout's last step: paid and shipped, the order is confirmed straight from `placed`. */
  | Command<'CompleteCheckout', { orderId: string; trackingNumber: string }>;

export const orderDecider: Decider<OrderState, OrderCommand, OrderEvent> = {
  name: 'order',
  initialState: () => ({ status: 'none' }),
  evolve(state, event) {
    switch (event.type) {
      case 'OrderPlaced':
        return { status: 'placed', orderId: event.data.orderId, customer: event.data.customer, warehouse: event.data.warehouse, lines: event.data.lines };
      case 'OrderCancelled':
        return { ...state, status: 'cancelled' };
      case 'OrderReadyToShip':
        return { ...state, status: 'ready-to-ship' };
      case 'OrderConfirmed':
        return { ...state, status: 'confirmed' };
    }
  },
  decide(command, state) {
    const { orderId } = command.data;
    switch (command.type) {
      case 'PlaceOrder': {
        // Placing the same order again (a client retrying) changes nothing.
        if (state.status !== 'none') return [];
        const { customer, warehouse, lines, card } = command.data;
        if (lines.length === 0 || lines.some((l) => !Number.isInteger(l.quantity) || l.quantity <= 0)) {
          throw new DomainError('InvalidOrder', `Order ${orderId} needs lines with positive whole quantities`);
        }
        return [{ type: 'OrderPlaced', data: { orderId, customer, warehouse, lines, totalCents: totalOf(lines), card } }];
      }
      case 'CancelOrder':
        if (state.status === 'none') throw new DomainError('OrderNotFound', `No order ${orderId}`);
        if (state.status === 'cancelled') return [];
        if (state.status !== 'placed') {
          throw new DomainError('TooLateToCancel', `Order ${orderId} is ${state.status}: it can no longer be cancelled`, { status: state.status });
        }
        return [{ type: 'OrderCancelled', data: { orderId, customer: state.customer!, warehouse: state.warehouse!, reason: command.data.reason } }];
      case 'MarkReadyToShip':
        // A cancelled order stays cancelled: Inventory releases its reservation on OrderCancelled.
        if (state.status !== 'placed') return [];
        return [{ type: 'OrderReadyToShip', data: { orderId, warehouse: state.warehouse!, lines: state.lines! } }];
      case 'ConfirmOrder':
        if (state.status === 'confirmed') return [];
        if (state.status !== 'ready-to-ship') {
          throw new DomainError('NotShipping', `Order ${orderId} is ${state.status}: only an order that is shipping can be confirmed`, { status: state.status });
        }
        return [{ type: 'OrderConfirmed', data: { orderId, customer: state.customer!, trackingNumber: command.data.trackingNumber } }];
      case 'CompleteCheckout':
        if (state.status === 'confirmed') return [];
        if (state.status !== 'placed') {
          throw new DomainError('OrderNotOpen', `Order ${orderId} is ${state.status}: its checkout cannot complete`, { status: state.status });
        }
        return [{ type: 'OrderConfirmed', data: { orderId, customer: state.customer!, trackingNumber: command.data.trackingNumber } }];
    }
  },
};
