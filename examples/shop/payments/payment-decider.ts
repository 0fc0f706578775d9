/**
 * Payments: one stream per order's payment. Its state makes the money side idempotent: a
 * charge happens at most once, and a refund only after a successful charge, at most once, however
 * many cancellations and shortages ask for it. The orchestrated checkout authorises first and
 * captures last: a hold is captured or voided, once, and only a held amount is captured.
 */
import type { Command, Decider } from '../../../src/index.js';
import type { Line, PaymentEvent, Warehouse } from '../events.js';

export interface PaymentState {
  status: 'none' | 'succeeded' | 'failed' | 'refunded' | 'authorised' | 'voided' | 'captured';
  amountCents: number;
}

export type PaymentCommand =
  | Command<'ChargePayment', { orderId: string; amountCents: number; card: string; warehouse: Warehouse; lines: Line[] }>
  | Command<'RefundPayment', { orderId: string; reason: string }>
  | Command<'AuthorisePayment', { orderId: string; amountCents: number; card: string }>
  | Command<'VoidAuthorisation', { orderId: string; reason: string }>
  /** `refusal`: the shop itself calls the capture off (the order was cancelled meanwhile). */
  | Command<'CapturePayment', { orderId: string; card: string; refusal?: string }>;

/** The card network's answer, decided by the card number like a payment provider's test cards. */
export const isDeclined = (card: string): boolean => card.endsWith('0002');
/** The issuer never answers an authorisation request for these cards (the request times out). */
export const isSilentIssuer = (card: string): boolean => card.endsWith('0259');
/** The authorisation succeeds, the capture is declined. */
export const declinesCapture = (card: string): boolean => card.endsWith('0341');

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
      case 'PaymentAuthorised':
        return { status: 'authorised', amountCents: event.data.amountCents };
      case 'AuthorisationVoided':
        return { ...state, status: 'voided' };
      case 'PaymentCaptured':
        return { ...state, status: 'captured' };
      case 'CaptureFailed':
        // The hold stays until it is voided.
        return state;
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
      case 'AuthorisePayment': {
        if (state.status !== 'none') return [];
        const { amountCents, card } = command.data;
        if (isDeclined(card)) return [{ type: 'PaymentFailed', data: { orderId, amountCents, reason: 'card declined' } }];
        return [{ type: 'PaymentAuthorised', data: { orderId, amountCents } }];
      }
      case 'VoidAuthorisation':
        // Before any answer came (or after a refusal the asker gave up waiting for): voided all the
        // same, so that an authorisation arriving late is refused and the asker gets its answer.
        if (state.status !== 'authorised' && state.status !== 'none' && state.status !== 'failed') return [];
        return [{ type: 'AuthorisationVoided', data: { orderId, amountCents: state.status === 'authorised' ? state.amountCents : 0, reason: command.data.reason } }];
      case 'CapturePayment': {
        if (state.status !== 'authorised') return [];
        const { card, refusal } = command.data;
        const reason = refusal ?? (declinesCapture(card) ? 'capture declined by the issuer' : undefined);
        if (reason) return [{ type: 'CaptureFailed', data: { orderId, amountCents: state.amountCents, reason } }];
        return [{ type: 'PaymentCaptured', data: { orderId, amountCents: state.amountCents } }];
      }
    }
  },
};
