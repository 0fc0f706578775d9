import { FactumError } from '../../core/errors.js';
import { brokerUnavailableError } from '../broker-errors.js';

/** AMQP reply codes that mean a wrong declaration or name, not a broker that is down. */
const REFUSED_BY_CONFIGURATION = new Set([403, 404, 406]);

/**
 * An amqplib error as a `FactumError`: a declaration that RabbitMQ refused (a queue that exists
 * with other arguments, a missing exchange, no permission) is `INVALID_ARGUMENT`; anything else
 * (a refused connection, a closed channel, a restart) is `BROKER_UNAVAILABLE`. The cause is kept.
 *
 * @example
 * try { await channel.assertQueue(name, args) } catch (e) { throw rabbitMqError(e, `declaring ${name}`) }
 */
export function rabbitMqError(error: unknown, doing: string): FactumError {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && REFUSED_BY_CONFIGURATION.has(code)) {
    return new FactumError('INVALID_ARGUMENT', `RabbitMQ refused ${doing}: ${(error as Error).message}`, { cause: error, details: { broker: 'RabbitMQ', amqpCode: code } });
  }
  return brokerUnavailableError('RabbitMQ', error);
}
