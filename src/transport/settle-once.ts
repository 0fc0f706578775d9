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
  let settled: Promise<void> | undefined;
  const once = (settle: () => Promise<void>): Promise<void> => (settled ??= settle());
  const guarded: Delivery = {
    message: delivery.message,
    attempt: delivery.attempt,
    partition: delivery.partition,
    ack: () => once(() => delivery.ack()),
    retry: (delayMs, error) => once(() => delivery.retry(delayMs, error)),
    deadLetter: (error) => once(() => delivery.deadLetter(error)),
  };
  try {
    await handler(guarded);
  } catch (error) {
    await guarded.retry(0, error);
    return;
  }
  await guarded.ack();
}
