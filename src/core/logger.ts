/**
 * Where factum's runners report errors and state changes: a pino-compatible interface (pino, and
 * most loggers that take an object and a message, fit it as they are). Runners are silent
 * without one; with one, a runner that keeps failing is never silent. Errors go under `err`, as
 * pino's error serialiser expects.
 *
 * @example
 * import pino from 'pino'
 * new Subscription(store, { name: 'emails', handler, logger: pino() })
 */
export interface Logger {
  error(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
}
