import type { RecordedEvent } from '../core/message.js';
import type { DeadLetter } from './consumer-storage.js';
import type { DeliveryHost } from './delivery-host.js';

/**
 * What a batch handler says about one event of its batch: `done`; `failed` for good (it becomes
 * a dead letter and parks its stream); or `pending`, not done yet (the checkpoint stops before
 * it, so the next read hands it over again).
 *
 * @example
 * const outcome: BatchOutcome = { status: 'failed', error: new Error('refused') }
 */
export type BatchOutcome = { status: 'done' } | { status: 'failed'; error: unknown } | { status: 'pending' };

/**
 * Handles the events of one page at once (a relay publishes them in one batch per topic), giving
 * one outcome per event, in order. It runs outside any transaction.
 *
 * @example
 * const handler: BatchHandler = async (events) => events.map(() => ({ status: 'done' }))
 */
export type BatchHandler = (events: RecordedEvent[]) => Promise<BatchOutcome[]>;

/**
 * Handles one page with a batch handler: the events of streams that are not blocked go to it
 * together; then one transaction records what failed (a dead letter), parks what must wait (the
 * later events of a blocked or failed stream, in order) and moves the checkpoint up to the event
 * before the first `pending` one, or to `end` when none is. A crash before that commit hands the
 * page over again (at-least-once); nothing after a pending event is ever passed.
 *
 * A failed event's later events in the same page were in the batch already; they are parked
 * anyway, so that after `retryDeadLetter` or `skipDeadLetter` they are handled again after it.
 *
 * @example
 * await deliverBatch(host, page.events, page.position, handler)
 */
export async function deliverBatch(host: DeliveryHost, events: RecordedEvent[], end: bigint, handler: BatchHandler): Promise<void> {
  const { drain } = host;
  if (host.isStopping()) return;
  const offered = events.filter((event) => !drain.blocked.has(event.streamId));
  const outcomes = new Map<RecordedEvent, BatchOutcome>();
  if (offered.length > 0) (await handler(offered)).forEach((outcome, i) => outcomes.set(offered[i]!, outcome));

  // In log order, so each stream's rows drain in order.
  const rows: Array<{ event: RecordedEvent; failure?: { error: unknown } }> = [];
  const failing = new Set<string>();
  let upTo = end;
  let previous = host.position();
  for (const event of events) {
    const outcome = outcomes.get(event);
    if (drain.blocked.has(event.streamId) || failing.has(event.streamId)) {
      rows.push({ event });
    } else if (outcome?.status === 'pending' || outcome === undefined) {
      upTo = previous;
      break;
    } else if (outcome.status === 'failed') {
      rows.push({ event, failure: { error: outcome.error } });
      failing.add(event.streamId);
    }
    previous = host.positionOf(event);
  }
  if (upTo <= host.position()) return;

  const failed: Array<{ letter: DeadLetter; error: unknown }> = [];
  await host.commit(
    async (tx) => {
      for (const { event, failure } of rows) {
        if (!failure) await drain.park(tx, event);
        else failed.push({ letter: await drain.recordFailure(tx, event, failure.error), error: failure.error });
      }
      return upTo;
    },
    () => {
      for (const { letter, error } of failed) drain.held(letter, error);
    },
  );
}
