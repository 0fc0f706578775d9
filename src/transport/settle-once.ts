import type { Delivery } from './broker.js';

/**
 * Runs a handler on a delivery so that it is settled exactly once: a second `ack`/`retry`/
 * `deadLetter` is ignored, a handler that returns without settling acks, one that throws retries
 * at once with its error (the delivery limit then dead-letters a message that always fails).
 *
 * @example
 * await settleOnce(options.handler, delivery)
 */
export async function settleOnce(handler: (delivery: Delivery) => Promise<void>, delivery: Delivery): Promise<void> {
  const guarded = guard(delivery).delivery;
  try {
    await handler(guarded);
  } catch (error) {
    await guarded.retry(0, error);
    return;
  }
  await guarded.ack();
}

/** A delivery whose settling methods act once; `settled` tells whether one was called. */
function guard(delivery: Delivery): { delivery: Delivery; settled: () => boolean } {
  let settled: Promise<void> | undefined;
  const once = (settle: () => Promise<void>): Promise<void> => (settled ??= settle());
  return {
    delivery: {
      message: delivery.message,
      attempt: delivery.attempt,
      partition: delivery.partition,
      ack: () => once(() => delivery.ack()),
      retry: (delayMs, error) => once(() => delivery.retry(delayMs, error)),
      deadLetter: (error) => once(() => delivery.deadLetter(error)),
    },
    settled: () => settled !== undefined,
  };
}

/**
 * Runs a batch handler (see `ConsumeOptions.batchHandler`) so that each delivery is settled at
 * most once, and returns the indexes of those it left unsettled, in order (they go back to the
 * front of their lane). One that throws retries its first unsettled delivery at once with the error.
 *
 * @example
 * const unsettled = await settleBatch(options.batchHandler, deliveries)
 */
export async function settleBatch(handler: (deliveries: Delivery[]) => Promise<void>, deliveries: Delivery[]): Promise<number[]> {
  const guards = deliveries.map(guard);
  const unsettled = (): number[] => guards.flatMap((g, i) => (g.settled() ? [] : [i]));
  try {
    await handler(guards.map((g) => g.delivery));
  } catch (error) {
    const first = unsettled()[0];
    if (first !== undefined) await guards[first]!.delivery.retry(0, error);
  }
  return unsettled();
}
