/**
 * The orchestrated checkout, running: the saga's runner (it takes each order and each answer into
 * the order's saga log, hands the commands to the services' handlers and fires the durable
 * timers) and the orders' closer. The shop starts these in place of the four choreographed
 * services, and stops and restarts them between waves as it does those.
 */
import { allDeadLetters, WorkflowRunner, type EventStore, type RecordedEvent, type SagaState } from '../../../src/index.js';
import type { OrderPlaced } from '../events.js';
import { REACTION_RETRY_POLICY } from '../service.js';
import type { Follower } from '../shop.js';
import { checkoutHandlers } from './checkout-handlers.js';
import { CHECKOUT, type CheckoutCommand, type CheckoutReply, type CheckoutSaga } from './checkout-saga.js';
import { ORDER_CLOSER, orderCloser } from './order-closer.js';

export type CheckoutRunner = WorkflowRunner<SagaState<OrderPlaced['data']>, OrderPlaced | CheckoutReply, CheckoutCommand, never>;

export interface CheckoutFlow {
  runner: CheckoutRunner;
  /** The runner (named by its inputs' subscription) and the closer, as the shop follows them. */
  followers: Map<string, Follower>;
  /** True while some saga has not ended (it may be waiting for an answer or for its timer). */
  busy(): Promise<boolean>;
}

export async function startCheckoutFlow(store: EventStore, saga: CheckoutSaga, options: { onError: (name: string) => (error: unknown, event?: RecordedEvent) => void }): Promise<CheckoutFlow> {
  const name = `workflow:${CHECKOUT}`;
  const runner = await new WorkflowRunner(store, saga, {
    handlers: checkoutHandlers(),
    retry: REACTION_RETRY_POLICY,
    batchSize: 20,
    pollIntervalMs: 250,
    onError: options.onError(name),
  }).start();
  const closer = await orderCloser(store, { onError: options.onError(ORDER_CLOSER) }).start();
  const followers = new Map<string, Follower>([
    [
      name,
      {
        status: () => runner.status().inputs,
        waitFor: (position, wait) => runner.waitFor(position, wait),
        // The runner's two subscriptions keep their dead letters beside the log, under their names.
        deadLetters: async () => (await allDeadLetters(store)).filter((letter) => letter.subscription.startsWith(name)),
        stop: () => runner.stop(),
      },
    ],
    [ORDER_CLOSER, closer],
  ]);
  return {
    runner,
    followers,
    busy: async () => (await runner.queries.instances({ status: 'running', limit: 1 })).length > 0,
  };
}
