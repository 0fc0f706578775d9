import type { EventShape } from '../core/message.js';
import { defineWorkflow, type Workflow, type WorkflowDefinition } from './workflow.js';

/** A process manager: a workflow whose instances are the correlations of its inputs (see `defineProcessManager`). */
export type ProcessManagerDefinition<State, I extends EventShape, C extends EventShape = never, E extends EventShape = never> = Omit<WorkflowDefinition<State, I, C, E>, 'id'>;

/**
 * Defines a process manager for choreography: it reacts to the events of several services with
 * commands (and events), keeping state per correlation id, so one business process (an order
 * placed, paid, reserved) is one instance, whichever streams its events are in. An input without
 * a correlation id belongs to no process and is ignored. It is a workflow with
 * `id = metadata.correlationId`, run by `WorkflowRunner` like any other: its log is its own
 * stream, its commands carry the correlation on to their replies, and it has timers and locks.
 *
 * @example
 * const shipping = defineProcessManager<{ paid?: boolean; reserved?: boolean }, Paid | Reserved, Ship>({
 *   name: 'shipping',
 *   inputs: ['PaymentSucceeded', 'InventoryReserved'],
 *   initialState: () => ({}),
 *   evolve: (state, input) => (input.type === 'PaymentSucceeded' ? { ...state, paid: true } : input.type === 'InventoryReserved' ? { ...state, reserved: true } : state),
 *   decide: (input, state) => {
 *     const next = { paid: state.paid || input.type === 'PaymentSucceeded', reserved: state.reserved || input.type === 'InventoryReserved' }
 *     return next.paid && next.reserved ? [send({ type: 'ShipOrder', data: {} }), complete()] : []
 *   },
 * })
 */
export function defineProcessManager<State, I extends EventShape, C extends EventShape = never, E extends EventShape = never>(
  definition: ProcessManagerDefinition<State, I, C, E>,
): Workflow<State, I, C, E> {
  return defineWorkflow<State, I, C, E>({ ...definition, id: (input) => input.metadata.correlationId });
}
