import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { sleep } from '../core/sleep.js';
import { DeadLetterRequests, type DeadLetterAction, type DeadLetterRequest } from './dead-letter-requests.js';

/** Options of `requestDeadLetterAction`. */
export interface DeadLetterActionOptions {
  /** How long to wait for the owner's outcome, in seconds; 30 by default, 0 to only ask. */
  waitSeconds?: number;
}

/** Where a request stands when `requestDeadLetterAction` returns. */
export interface DeadLetterActionOutcome {
  /**
   * `succeeded`: done, and the stream flows again (a skip: also the events parked behind it).
   * `failed`: the retried letter (or an event parked behind it) failed again; `request.error` says why.
   * `pending`: no running owner took it within the wait (a skip is done in the database already;
   * the events parked behind it flow when the owner next runs). `running`: an owner is on it.
   */
  outcome: DeadLetterRequest['status'];
  request: DeadLetterRequest;
}

/**
 * Retries or skips a dead letter of any runner from outside the process that runs it, on a SQL
 * store: the operator's side of the CLI's `factum dead-letters retry|skip` and the standalone
 * dashboard. A retry needs the runner's handler, so it is written as a request that the running
 * owner (a `Subscription`, projection runner, relay, workflow runner or `EventConsumer` with
 * this store) claims on its next poll and carries out; a skip is done here at once, in the
 * database, and its request asks the owner to let the events parked behind it flow, in order.
 * Waits for the outcome up to `waitSeconds`. The memory store has no tables: there, call
 * `retryDeadLetter` / `skipDeadLetter` on the runner.
 *
 * @example
 * const { outcome, request } = await requestDeadLetterAction(store, '42', 'retry', { waitSeconds: 10 })
 * if (outcome === 'failed') console.error(request.error)
 */
export async function requestDeadLetterAction(store: EventStore, deadLetterId: string, action: DeadLetterAction, options: DeadLetterActionOptions = {}): Promise<DeadLetterActionOutcome> {
  const requests = DeadLetterRequests.of(store);
  if (!requests) {
    throw new FactumError('SQL_UNAVAILABLE', 'Dead-letter requests need a SQL store (PostgreSQL or PGlite): on the memory store, call retryDeadLetter or skipDeadLetter on the runner');
  }
  const waitSeconds = options.waitSeconds ?? 30;
  if (!(waitSeconds >= 0)) throw new FactumError('INVALID_ARGUMENT', `waitSeconds must be 0 or more, got ${waitSeconds}`);
  let request = action === 'retry' ? await requests.requestRetry(deadLetterId) : await requests.skip(deadLetterId);
  const until = Date.now() + waitSeconds * 1000;
  // Polled, not timed: the owner looks every poll interval (a second by default), so a tenth of that is prompt enough.
  while ((request.status === 'pending' || request.status === 'running') && Date.now() < until) {
    await sleep(Math.min(100, Math.max(0, until - Date.now())));
    request = await requests.read(request.id);
  }
  return { outcome: request.status, request };
}
