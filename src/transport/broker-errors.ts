import { FactumError } from '../core/errors.js';
import type { RefusalReason } from './broker-message.js';

/**
 * The broker could not be reached, or the connection dropped before it answered. `cause` is the
 * client library's error.
 *
 * @example
 * throw brokerUnavailableError('RabbitMQ', error)
 */
export function brokerUnavailableError(broker: string, cause: unknown): FactumError {
  const reason = (cause as Error | undefined)?.message ?? String(cause);
  return new FactumError('BROKER_UNAVAILABLE', `${broker} is unavailable: ${reason}`, { cause, details: { broker } });
}

/** The broker refused a message for good: `details.reason` says why, `details.messageId` which. */
export function messageRefusedError(broker: string, messageId: string, reason: RefusalReason, explanation: string, cause?: unknown): FactumError {
  return new FactumError('MESSAGE_REFUSED', `${broker} refused message ${messageId} (${reason}): ${explanation}`, {
    cause,
    details: { broker, messageId, reason },
  });
}

/** The broker was used after `close()`. */
export function brokerClosedError(broker: string): FactumError {
  return new FactumError('BROKER_CLOSED', `${broker} broker is closed`, { details: { broker } });
}
