import { FactumError } from './errors.js';

/**
 * How factum retries, everywhere it does (a subscription's failing handler before the event is
 * dead-lettered, `handleCommand` after a version conflict): first a few immediate retries (a lost
 * race, a dropped connection), then exponential backoff with jitter (a service that is down for a
 * while). A subscription's retries wait on timers, so they hold up no other stream; per-stream
 * order holds throughout: the later events of the failing stream park behind it, in order, and
 * stay parked behind the dead letter after the last retry.
 *
 * @example
 * const retry: RetryPolicy = { immediateRetries: 2, backoffRetries: 5, initialDelayMs: 200, maxDelayMs: 10_000, factor: 2, jitter: 0.5 }
 */
export interface RetryPolicy {
  /** Retries right away after the first failure; 2 by default. */
  immediateRetries?: number;
  /** Retries after a growing delay once the immediate ones failed; 3 by default. */
  backoffRetries?: number;
  /** Delay before the first backoff retry; 100 ms by default. */
  initialDelayMs?: number;
  /** Upper bound of any delay; 30 s by default. */
  maxDelayMs?: number;
  /** Growth of the delay per retry; 2 by default. */
  factor?: number;
  /** Fraction of each delay drawn at random (0: none, 1: "full jitter"); 0.5 by default. */
  jitter?: number;
}

/**
 * The defaults of every option of `RetryPolicy`.
 *
 * @example
 * const patient: RetryPolicy = { ...DEFAULT_RETRY_POLICY, backoffRetries: 10 }
 */
export const DEFAULT_RETRY_POLICY: Required<RetryPolicy> = {
  immediateRetries: 2,
  backoffRetries: 3,
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.5,
};

/**
 * The delays before each retry, in order (0 for immediate ones); its length is the number of
 * retries. `random` is injectable so tests can pin the jitter.
 *
 * @example
 * retryDelays({ immediateRetries: 1, backoffRetries: 2, initialDelayMs: 100, jitter: 0 }) // [0, 100, 200]
 */
export function retryDelays(policy: RetryPolicy = {}, random: () => number = Math.random): number[] {
  const p = { ...DEFAULT_RETRY_POLICY, ...policy };
  for (const key of ['immediateRetries', 'backoffRetries'] as const) {
    if (!Number.isSafeInteger(p[key]) || p[key] < 0) throw new FactumError('INVALID_ARGUMENT', `retry.${key} must be an integer >= 0, got ${String(p[key])}`);
  }
  for (const key of ['initialDelayMs', 'maxDelayMs', 'factor'] as const) {
    if (!Number.isFinite(p[key]) || p[key] < 0) throw new FactumError('INVALID_ARGUMENT', `retry.${key} must be a number >= 0, got ${String(p[key])}`);
  }
  if (!(p.jitter >= 0 && p.jitter <= 1)) throw new FactumError('INVALID_ARGUMENT', `retry.jitter must be between 0 and 1, got ${String(p.jitter)}`);
  const delays: number[] = Array.from({ length: Math.max(0, p.immediateRetries) }, () => 0);
  for (let k = 0; k < Math.max(0, p.backoffRetries); k++) {
    const base = Math.min(p.maxDelayMs, p.initialDelayMs * p.factor ** k);
    delays.push(Math.round(base * (1 - p.jitter * random())));
  }
  return delays;
}
