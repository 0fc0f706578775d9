/**
 * The services' side of the orchestrated checkout: one handler per command the saga sends, each
 * running the owning service's decider on its stream. A handler gets the store of the command
 * dispatch's transaction (`context.store`), so its events and the dispatch's checkpoint commit
 * together: a command delivered again after a crash finds its effect done, or not done at all.
 * The answer is the event the decider appends (it carries the order id, which the saga
 * correlates by); each event names the saga's command id as its cause.
 */
import { handleCommand, loadState, type Decider, type NewEvent, type WorkflowCommandContext, type WorkflowCommandHandlers } from '../../../src/index.js';
import { inventoryStream, orderStream, paymentStream, shipmentStream } from '../events.js';
import { inventoryDecider } from '../inventory/inventory-decider.js';
import { orderDecider } from '../orders/order-decider.js';
import { isSilentIssuer, paymentDecider } from '../payments/payment-decider.js';
import { shipmentDecider } from '../shipping/shipment-decider.js';
import type { CheckoutCommand } from './checkout-saga.js';

/** Runs one of the saga's commands on a service's stream, inside the dispatch's transaction. */
function run<State, C extends { type: string; data: { orderId: string } }, E extends NewEvent>(context: WorkflowCommandContext, decider: Decider<State, C, E>, streamId: string, command: C) {
  const metadata = { commandId: context.commandId, correlationId: command.data.orderId };
  return handleCommand(context.store, streamId, { ...command, metadata }, decider);
}

export function checkoutHandlers(): WorkflowCommandHandlers<CheckoutCommand> {
  return {
    ReserveStock: async (command, context) => {
      const { orderId, warehouse } = command.data;
      // A customer who cancelled before the checkout came this far: Inventory notes it
      // (ReservationVoided, as in the choreography), which fails the step.
      const order = await loadState(context.store, orderStream(orderId), orderDecider);
      if (order.state.status === 'cancelled') await run(context, inventoryDecider, inventoryStream(warehouse), { type: 'ReleaseStock' as const, data: { orderId, warehouse } });
      else await run(context, inventoryDecider, inventoryStream(warehouse), command);
    },
    ReleaseStock: async (command, context) => {
      await run(context, inventoryDecider, inventoryStream(command.data.warehouse), command);
    },
    AuthorisePayment: async (command, context) => {
      // The request goes out and no answer ever comes back: the step's durable timer ends the wait.
      if (isSilentIssuer(command.data.card)) return;
      await run(context, paymentDecider, paymentStream(command.data.orderId), command);
    },
    VoidAuthorisation: async (command, context) => {
      await run(context, paymentDecider, paymentStream(command.data.orderId), command);
    },
    ShipOrder: async (command, context) => {
      await run(context, shipmentDecider, shipmentStream(command.data.orderId), command);
    },
    CancelShipment: async (command, context) => {
      await run(context, shipmentDecider, shipmentStream(command.data.orderId), command);
    },
    CapturePayment: async (command, context) => {
      const { orderId, card } = command.data;
      // The order decides last: a customer who cancelled while it shipped gets no charge.
      const order = await loadState(context.store, orderStream(orderId), orderDecider);
      const refusal = order.state.status === 'placed' ? {} : { refusal: `the order is ${order.state.status}` };
      const captured = await run(context, paymentDecider, paymentStream(orderId), { type: 'CapturePayment' as const, data: { orderId, card, ...refusal } });
      if (captured.events[0]?.type !== 'PaymentCaptured') return;
      const shipment = await loadState(context.store, shipmentStream(orderId), shipmentDecider);
      // Money taken and order confirmed in one transaction. A cancel that slipped in since the
      // load above makes this throw: the whole dispatch rolls back, and its retry refuses the capture.
      await run(context, orderDecider, orderStream(orderId), { type: 'CompleteCheckout' as const, data: { orderId, trackingNumber: shipment.state.trackingNumber! } });
    },
  };
}
