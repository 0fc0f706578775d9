/**
 * Payments: one stream per order's payment. Its state makes the money side idempotent: a
 * charge happens at most once, and a refund only after a successful charge, at most once, however
 * many cancellations and shortages ask for it.
 */
import type { Command, Decider } from '../../../src/index.js';
import type { Line, PaymentEvent, Warehouse } from '../events.js';

export interface PaymentState {
  status: 'none' | 'succeeded' | 'failed' | 'refunded';
  amountCents: number;
}

export type PaymentCommand =
  | Command<'ChargePayment', { orderId: string; amountCents: number; card: string; warehouse: Warehouse; lines: Line[] }>
  | Command<'RefundPayment', { orderId: string; reason: string }>;

/** The card network's answer, decided by the card number like a payment provider's test cards. */
export const isDeclined = (card: string): boolean => card.endsWith('0002');

export const paymentDecider: Decider<PaymentState, PaymentCommand, PaymentEvent> = {
  name: 'payment',
  initialState: () => ({ status: 'none', amountCents: 0 }),
  evolve(state, event) {
    switch (event.type) {
      case 'PaymentSucceeded':
        return { status: 'succeeded', amountCents: event.data.amountCents };
      case 'PaymentFailed':
        return { status: 'failed', amountCents: event.data.amountCents };
      case 'PaymentRefunded':
        return { ...state, status: 'refunded' };
    }
  },
  decide(command, state) {
    const { orderId } = command.data;
    switch (command.type) {
      case 'ChargePayment': {
        if (state.status !== 'none') return [];
        const { amountCents, card, warehouse, lines } = command.data;
        if (isDeclined(card)) return [{ type: 'PaymentFailed', data: { orderId, amountCents, reason: 'card declined' } }];
        return [{ type: 'PaymentSucceeded', data: { orderId, amountCents, warehouse, lines } }];
      }
      case 'RefundPayment':
        // Nothing to give back unless money was taken and not yet returned: exactly-once refunds.
        if (state.status !== 'succeeded') return [];
        return [{ type: 'PaymentRefunded', data: { orderId, amountCents: state.amountCents, reason: command.data.reason } }];
    }
  },
};
