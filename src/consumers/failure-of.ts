import type { Failure } from './consumer-storage.js';

/**
 * What a dead letter keeps of an error: the message, the code (a `FactumError`'s, a driver's
 * such as pg's SQLSTATE) and the stack, apart, so a list of dead letters reads as messages.
 *
 * @example
 * failureOf(new Error('smtp down'), 1, firstAt, new Date()).error // 'smtp down'
 */
export function failureOf(error: unknown, attempts: number, firstFailedAt: Date, lastFailedAt: Date): Failure {
  const e = error as { message?: unknown; code?: unknown; stack?: unknown } | null | undefined;
  const message = error instanceof Error ? error.message : typeof e?.message === 'string' ? e.message : String(error);
  const code = typeof e?.code === 'string' || typeof e?.code === 'number' ? String(e.code) : undefined;
  const stack = typeof e?.stack === 'string' ? e.stack : undefined;
  return { error: message, ...(code ? { code } : {}), ...(stack ? { stack } : {}), attempts, firstFailedAt, lastFailedAt };
}
