/**
 * The orchestrated checkout: one saga per order, started by `OrderPlaced`, that tells each
 * service what to do and waits for its answer (an event carrying the order id), instead of the
 * services reacting to each other. Steps in order, each with the compensation that undoes it:
 *
 *   reserve    ReserveStock      → InventoryReserved   (fails: InsufficientStock, or ReservationVoided when the customer cancelled)
 *              undo: ReleaseStock → StockReleased
 *   authorise  AuthorisePayment  → PaymentAuthorised   (fails: PaymentFailed; or no answer within the timeout, a durable timer)
 *              undo: VoidAuthorisation → AuthorisationVoided
 *   ship       ShipOrder         → OrderShipped
 *              undo: CancelShipment → ShipmentCancelled
 *   capture    CapturePayment    → PaymentCaptured     (fails: CaptureFailed), the point of no return: it confirms the order
 *
 * Capture is last because it cannot be undone (money taken and order confirmed, in one
 * transaction); `defineSaga` checks that no step after an uncompensated one can fail.
 */
import { defineSaga, type Saga } from '../../../src/index.js';
import type { AuthorisationVoided, CaptureFailed, InsufficientStock, InventoryReserved, OrderPlaced, OrderShipped, PaymentAuthorised, PaymentCaptured, PaymentFailed, ReservationVoided, ShipmentCancelled, StockReleased } from '../events.js';
import type { InventoryCommand } from '../inventory/inventory-decider.js';
import type { PaymentCommand } from '../payments/payment-decider.js';
import type { ShipmentCommand } from '../shipping/shipment-decider.js';

/** The saga's name: its logs are the streams `workflow-checkout-<order id>`. */
export const CHECKOUT = 'checkout';

export type CheckoutReply =
  | InventoryReserved | InsufficientStock | ReservationVoided | StockReleased
  | PaymentAuthorised | PaymentFailed | AuthorisationVoided
  | OrderShipped | ShipmentCancelled
  | PaymentCaptured | CaptureFailed;

/** The commands the saga sends, each to the service that owns the stream it changes. */
export type CheckoutCommand =
  | Extract<InventoryCommand, { type: 'ReserveStock' | 'ReleaseStock' }>
  | Extract<PaymentCommand, { type: 'AuthorisePayment' | 'VoidAuthorisation' | 'CapturePayment' }>
  | ShipmentCommand;

export type CheckoutSaga = Saga<OrderPlaced, CheckoutReply, CheckoutCommand>;

export interface CheckoutOptions {
  /** How long the issuer has to answer an authorisation request before the saga gives up and compensates. */
  authorisationTimeoutMs: number;
}

export function checkoutSaga(options: CheckoutOptions): CheckoutSaga {
  return defineSaga<OrderPlaced, CheckoutReply, CheckoutCommand>({
    name: CHECKOUT,
    start: 'OrderPlaced',
    id: (event) => event.data.orderId,
    steps: [
      {
        name: 'reserve',
        command: ({ start: { orderId, warehouse, lines } }) => ({ type: 'ReserveStock', data: { orderId, warehouse, lines } }),
        completedOn: 'InventoryReserved',
        failedOn: ['InsufficientStock', 'ReservationVoided'],
        compensation: { command: ({ start: { orderId, warehouse } }) => ({ type: 'ReleaseStock', data: { orderId, warehouse } }), completedOn: 'StockReleased' },
      },
      {
        name: 'authorise',
        command: ({ start: { orderId, totalCents, card } }) => ({ type: 'AuthorisePayment', data: { orderId, amountCents: totalCents, card } }),
        completedOn: 'PaymentAuthorised',
        failedOn: 'PaymentFailed',
        timeoutMs: options.authorisationTimeoutMs,
        compensation: {
          command: ({ start: { orderId } }) => ({ type: 'VoidAuthorisation', data: { orderId, reason: 'checkout compensated' } }),
          completedOn: 'AuthorisationVoided',
          // A void always gets its answer; without its own timeout it would inherit the issuer's short one.
          timeoutMs: 60_000,
        },
      },
      {
        name: 'ship',
        command: ({ start: { orderId, warehouse } }) => ({ type: 'ShipOrder', data: { orderId, warehouse } }),
        completedOn: 'OrderShipped',
        compensation: { command: ({ start: { orderId, warehouse } }) => ({ type: 'CancelShipment', data: { orderId, warehouse } }), completedOn: 'ShipmentCancelled' },
      },
      {
        name: 'capture',
        command: ({ start: { orderId, card } }) => ({ type: 'CapturePayment', data: { orderId, card } }),
        completedOn: 'PaymentCaptured',
        failedOn: 'CaptureFailed',
      },
    ],
  });
}
