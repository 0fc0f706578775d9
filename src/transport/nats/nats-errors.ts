import { FactumError, isFactumError } from '../../core/errors.js';
import { brokerUnavailableError } from '../broker-errors.js';

/**
 * Whether a nats.js error says nobody answered the subject: for a JetStream publish, no stream
 * captures it (or JetStream is not up yet, which the caller tells apart by asking for the stream).
 */
export function isNoResponders(error: unknown): boolean {
  return inCauses(error, (e) => e.name === 'NoRespondersError' || (typeof e.isNoResponders === 'function' && e.isNoResponders()));
}

/** Whether the error or one of its causes passes `test` (nats.js wraps its errors, factum wraps them again). */
function inCauses(error: unknown, test: (e: { name?: unknown; isNoResponders?: () => boolean }) => boolean): boolean {
  for (let e = error as { name?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 10; e = e.cause as typeof e, depth++) {
    if (test(e)) return true;
  }
  return false;
}

/** A JetStream API error code (`10059` stream not found, ...), when the error carries one. */
export function jetStreamErrorCode(error: unknown): number | undefined {
  // nats.js' JetStreamApiError carries the server's error (with its `err_code`) behind `apiError()`.
  const e = error as { apiError?: () => { err_code?: unknown } } | null;
  const code = typeof e?.apiError === 'function' ? e.apiError().err_code : undefined;
  return typeof code === 'number' ? code : undefined;
}

/**
 * A nats.js error as a `FactumError`: JetStream refusing a request for its content (a bad stream
 * setting) is `INVALID_ARGUMENT`; anything else (no connection, a timeout, JetStream not ready)
 * is `BROKER_UNAVAILABLE`. The cause is kept; a `FactumError` passes through unchanged.
 *
 * @example
 * try { await jsm.streams.add(config) } catch (e) { throw natsError(e, `creating stream ${name}`) }
 */
export function natsError(error: unknown, doing: string): FactumError {
  if (isFactumError(error)) return error;
  const code = jetStreamErrorCode(error);
  // 10xxx codes below 10100 other than "not found"/"temporarily unavailable" are refusals of the request itself.
  if (code !== undefined && code !== 10008 && code !== 10059 && code !== 10014) {
    return new FactumError('INVALID_ARGUMENT', `NATS JetStream refused ${doing}: ${(error as Error).message}`, { cause: error, details: { broker: 'NATS', jetStreamError: code } });
  }
  return brokerUnavailableError('NATS', error);
}

/** Whether nats.js gave up waiting for an answer (a JetStream API request during a leader election, say). */
export function isTimeout(error: unknown): boolean {
  return inCauses(error, (e) => e.name === 'TimeoutError');
}
