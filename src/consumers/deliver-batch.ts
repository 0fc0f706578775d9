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
 * one outcome per event, in order. It runs outside any transaction. Batches may overlap (see
 * `BatchPipeline`): a handler called again before its last call resolved must keep the order of
 * its calls where it matters (the relay: per stream on the broker).
 *
 * @example
 * const handler: BatchHandler = async (events) => events.map(() => ({ status: 'done' }))
 */
export type BatchHandler = (events: RecordedEvent[]) => Promise<BatchOutcome[]>;

/** The outcome of each event a batch handler was given (events of blocked streams are not). */
export type BatchOutcomes = Map<RecordedEvent, BatchOutcome>;

/**
 * Hands the events of streams that are not blocked to the batch handler, at once; resolves with
 * their outcomes. The page is settled later by `settleBatch`, maybe after later pages were
 * dispatched.
 *
 * @example
 * const outcomes = await dispatchBatch(host, page.events, handler)
 */
export async function dispatchBatch(host: DeliveryHost, events: RecordedEvent[], handler: BatchHandler): Promise<BatchOutcomes> {
  const outcomes: BatchOutcomes = new Map();
  const offered = events.filter((event) => !host.drain.blocked.has(event.streamId));
  if (offered.length > 0) (await handler(offered)).forEach((outcome, i) => outcomes.set(offered[i]!, outcome));
  return outcomes;
}

/**
 * Settles one dispatched page, whose events follow `start`: one transaction records what failed
 * (a dead letter), parks what must wait (the later events of a blocked or failed stream, in
 * order) and moves the checkpoint up to the event before the first `pending` one (or one that was
 * not offered), or to `end` when none is. Returns whether it reached `end`: if not, the pages
 * dispatched after it must not be settled (they are read again from the checkpoint).
 * A crash before that commit hands the page over again (at-least-once); nothing after a pending
 * event is ever passed.
 *
 * Blocked streams are looked at now, not at dispatch: an earlier page that failed an event of a
 * stream parks this page's events of it too, although they were handed over already; so are a
 * failed event's later events in the same page. After `retryDeadLetter` or `skipDeadLetter` they
 * are handled again after it, so the last copy of a stream's events is in order.
 *
 * @example
 * const reached = await settleBatch(host, page.events, start, page.position, await outcomes)
 */
export async function settleBatch(host: DeliveryHost, events: RecordedEvent[], start: bigint, end: bigint, outcomes: BatchOutcomes): Promise<boolean> {
  const plan = planSettle(host, events, start, end, outcomes);
  await commitSettle(host, plan);
  return plan.upTo === end;
}

/** What settling a page will write: the checkpoint's new position, and the dead letters and parked events. */
export interface SettlePlan {
  upTo: bigint;
  rows: Array<{ event: RecordedEvent; failure?: { error: unknown } }>;
}

/**
 * The first half of `settleBatch`, without writing: where the checkpoint goes and what is
 * recorded. A plan with no rows that reaches its page's end needs no transaction of its own when
 * the next page's commit follows at once (`BatchPipeline` then leaves it to that one).
 *
 * @example
 * const plan = planSettle(host, page.events, start, page.position, outcomes)
 */
export function planSettle(host: DeliveryHost, events: RecordedEvent[], start: bigint, end: bigint, outcomes: BatchOutcomes): SettlePlan {
  const { drain } = host;
  // In log order, so each stream's rows drain in order.
  const rows: SettlePlan['rows'] = [];
  const failing = new Set<string>();
  let upTo = end;
  let previous = start;
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
  return { upTo, rows };
}

/**
 * The second half of `settleBatch`: one transaction records the plan's rows and moves the
 * checkpoint to its position (nothing when the checkpoint is there already).
 *
 * @example
 * await commitSettle(host, planSettle(host, page.events, start, page.position, outcomes))
 */
export async function commitSettle(host: DeliveryHost, plan: SettlePlan): Promise<void> {
  const { drain } = host;
  const { upTo, rows } = plan;
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
