import { FactumError, isFactumError } from '../../core/errors.js';
import { brokerUnavailableError } from '../broker-errors.js';

/** Kafka protocol errors that mean a wrong request or setting, not a cluster that is down. */
const REFUSED_BY_CONFIGURATION = new Set(['INVALID_PARTITIONS', 'INVALID_REPLICATION_FACTOR', 'INVALID_TOPIC_EXCEPTION', 'INVALID_CONFIG', 'TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'INVALID_GROUP_ID']);

/**
 * A kafkajs error as a `FactumError`: a request Kafka refused for its content (an invalid topic,
 * a missing permission) is `INVALID_ARGUMENT`; anything else (a refused connection, retries that
 * ran out, a broker that went away) is `BROKER_UNAVAILABLE`. The cause is kept. A `FactumError`
 * passes through unchanged.
 *
 * @example
 * try { await admin.createTopics(request) } catch (e) { throw kafkaError(e, `creating ${topic}`) }
 */
export function kafkaError(error: unknown, doing: string): FactumError {
  if (isFactumError(error)) return error;
  const type = (error as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && REFUSED_BY_CONFIGURATION.has(type)) {
    return new FactumError('INVALID_ARGUMENT', `Kafka refused ${doing}: ${(error as Error).message}`, { cause: error, details: { broker: 'Kafka', kafkaError: type } });
  }
  return brokerUnavailableError('Kafka', error);
}
