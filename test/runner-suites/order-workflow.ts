/**
 * The workflow of the saga suites: an order reserves stock (a command to an in-process handler,
 * answered by an event), waits for its payment under a durable timer, and completes paid or expired.
 */
import type { EventStore } from '../../src/core/event-store.js';
import { cancel, complete, defineWorkflow, publish, schedule, send } from '../../src/sagas/workflow.js';
import type { WorkflowCommandHandlers } from '../../src/sagas/workflow-runner.js';

export type OrderInput =
  | { type: 'OrderPlaced'; data: { orderId: string; payWithinMs?: number } }
  | { type: 'StockReserved'; data: { orderId: string } }
  | { type: 'PaymentReceived'; data: { orderId: string } };
export type OrderCommand = { type: 'ReserveStock'; data: { orderId: string } };
export type OrderEvent = { type: 'ReceiptIssued'; data: { orderId: string } };
export interface OrderState {
  orderId?: string;
  reserved: boolean;
  paid: boolean;
}

export const orderWorkflow = defineWorkflow<OrderState, OrderInput, OrderCommand, OrderEvent>({
  name: 'order',
  inputs: ['OrderPlaced', 'StockReserved', 'PaymentReceived'],
  id: (event) => event.data.orderId,
  initialState: () => ({ reserved: false, paid: false }),
  evolve: (state, input) => {
    switch (input.type) {
      case 'OrderPlaced':
        return { ...state, orderId: input.data.orderId };
      case 'StockReserved':
        return { ...state, reserved: true };
      case 'PaymentReceived':
        return { ...state, paid: true };
      default:
        return state;
    }
  },
  decide: (input, state) => {
    switch (input.type) {
      case 'OrderPlaced':
        return [send({ type: 'ReserveStock', data: { orderId: input.data.orderId } }), schedule('payment', { afterMs: input.data.payWithinMs ?? 60_000 })];
      case 'StockReserved':
        return state.paid ? [cancel('payment'), publish(`receipt-${state.orderId}`, { type: 'ReceiptIssued', data: { orderId: state.orderId! } }), complete('paid')] : [];
      case 'PaymentReceived':
        return state.reserved ? [cancel('payment'), publish(`receipt-${state.orderId}`, { type: 'ReceiptIssued', data: { orderId: state.orderId! } }), complete('paid')] : [];
      case 'TimerFired':
        return [complete('expired')];
      default:
        return []; // lock answers: this workflow takes no locks
    }
  },
});

/** The stock service: reserves by appending `StockReserved` in the dispatch's transaction; `seen` counts each command id. */
export function stockHandlers(seen: Map<string, number>): WorkflowCommandHandlers<OrderCommand> {
  return {
    ReserveStock: async (command, context) => {
      seen.set(context.commandId, (seen.get(context.commandId) ?? 0) + 1);
      await context.store.append(`stock-${command.data.orderId}`, [{ type: 'StockReserved', data: { orderId: command.data.orderId } }]);
    },
  };
}

/** The types in an instance's log, with the input's type beside `WorkflowInputAccepted`. */
export async function logTypes(store: EventStore, orderId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const event of store.readStream(`workflow-order-${orderId}`)) {
    const data = event.data as { input?: { type: string }; command?: { type: string } };
    out.push(data.input ? `in:${data.input.type}` : data.command ? `cmd:${data.command.type}` : event.type);
  }
  return out;
}
