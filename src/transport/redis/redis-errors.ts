import { type FactumError, isFactumError } from '../../core/errors.js';
import { brokerUnavailableError } from '../broker-errors.js';

/**
 * An ioredis error as a `FactumError`: every driver failure (a refused connection, a closed
 * socket, a command that timed out) is `BROKER_UNAVAILABLE` with the cause kept; a `FactumError`
 * passes through unchanged.
 *
 * @example
 * try { await redis.xack(key, group, id) } catch (e) { throw redisError(e) }
 */
export function redisError(error: unknown): FactumError {
  return isFactumError(error) ? error : brokerUnavailableError('Redis', error);
}

/** Whether Redis answered that a consumer group is gone (a restart without persistence loses it). */
export function isNoGroup(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.startsWith('NOGROUP');
}
