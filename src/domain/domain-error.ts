import { FactumError, hasCode } from '../core/errors.js';

/**
 * A business rule refused a command: nothing was appended. `reason` is the application's own
 * stable name for the rule (like `CartFull`), so callers branch on it; the code is always
 * `DOMAIN_RULE_VIOLATED`, which tells it apart from a concurrency conflict
 * (`CONCURRENCY_CONFLICT`) and from an infrastructure failure (`isInfrastructureError`).
 * `handleCommand` never retries it.
 *
 * @example
 * decide(command, state) {
 *   if (state.items.length >= 10) throw new DomainError('CartFull', 'A cart holds at most 10 items', { max: 10 })
 *   return [{ type: 'ItemAdded', data: command.data }]
 * }
 */
export class DomainError extends FactumError {
  readonly reason: string;

  constructor(reason: string, message: string = reason, details: Record<string, unknown> = {}, options: { cause?: unknown } = {}) {
    super('DOMAIN_RULE_VIOLATED', message, { details: { ...details, reason }, ...(options.cause === undefined ? {} : { cause: options.cause }) });
    this.name = 'DomainError';
    this.reason = reason;
  }
}

/**
 * True when a business rule refused a command; with `reason`, only for that rule.
 *
 * @example
 * try { await handleCommand(store, 'cart-1', addItem, cart) }
 * catch (e) { if (isDomainError(e, 'CartFull')) return reply(409, e.message) }
 */
export function isDomainError(error: unknown, reason?: string): error is DomainError {
  return hasCode(error, 'DOMAIN_RULE_VIOLATED') && (reason === undefined || (error as { reason?: unknown }).reason === reason);
}
