/**
 * Orders, after the checkout: when a checkout saga ends compensated, its order is cancelled with
 * the reason the saga failed for (a completed saga confirmed its order in its capture step). It
 * reacts to the saga log's `WorkflowCompleted` event, on a checkpointed subscription with the
 * inbox on, the cancel and the inbox row in one transaction.
 */
import { handleCommand, Subscription, WORKFLOW_LOG_TYPES, workflowStreamId, type EventStore, type RecordedEvent, type SagaResult } from '../../../src/index.js';
import { orderStream, type CancelReason } from '../events.js';
import { REACTION_RETRY_POLICY } from '../service.js';
import { orderDecider } from '../orders/order-decider.js';
import { CHECKOUT } from './checkout-saga.js';

export const ORDER_CLOSER = 'orders-after-checkout';

/** Why the order is cancelled, by the step that failed and how. */
export function cancelReasonOf(failure: SagaResult['failure']): CancelReason {
  switch (failure?.step) {
    case 'reserve':
      return 'out-of-stock';
    case 'authorise':
      return failure.reason === 'timeout' ? 'payment-timeout' : 'payment-failed';
    default:
      return 'capture-failed';
  }
}

export function orderCloser(store: EventStore, options: { onError?: (error: unknown, event?: RecordedEvent) => void } = {}): Subscription {
  const prefix = workflowStreamId(CHECKOUT, '');
  return new Subscription(store, {
    name: ORDER_CLOSER,
    filter: { types: [WORKFLOW_LOG_TYPES.completed] },
    inbox: true,
    batchSize: 20,
    retry: REACTION_RETRY_POLICY,
    pollIntervalMs: 250,
    ...(options.onError ? { onError: options.onError } : {}),
    handler: async (event, context) => {
      if (!event.streamId.startsWith(prefix)) return;
      const result = (event.data as { result?: SagaResult }).result;
      // A saga whose compensation failed leaves its order as it is, for an operator (the self-check flags it).
      if (result?.outcome !== 'compensated') return;
      const orderId = event.streamId.slice(prefix.length);
      // Already cancelled (by its customer) is fine: the decider then appends nothing.
      const command = { type: 'CancelOrder' as const, data: { orderId, reason: cancelReasonOf(result.failure) }, metadata: { correlationId: orderId, causationId: event.id } };
      await handleCommand(context.store, orderStream(orderId), command, orderDecider);
    },
  });
}
