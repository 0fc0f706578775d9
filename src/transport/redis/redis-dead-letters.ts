import type { Redis } from 'ioredis';
import { partitionOf } from '../../consumers/partition-of.js';
import { FactumError } from '../../core/errors.js';
import type { BrokerDeadLetter, BrokerDeadLetters } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { deadLetterReason } from '../dead-letter-reason.js';
import { redisError } from './redis-errors.js';
import { ONLY_GROUP_FIELD, fieldMap, fromFields, toFields } from './redis-message.js';
import { redisNames } from './redis-topology.js';

/** The fields of a dead-letter entry: the message's fields and these. */
export function deadLetterFields(message: BrokerMessage, error: unknown, attempts: number): string[] {
  const reason = deadLetterReason(error);
  return toFields(message, {
    error: reason.error,
    ...(reason.errorCode === undefined ? {} : { 'error-code': reason.errorCode }),
    attempts: String(attempts),
    'dead-lettered-at': new Date().toISOString(),
  });
}

/**
 * The dead letters of one topic and group: a stream of its own. A retry adds the message to its
 * partition's stream again, addressed to this group only, and deletes the letter; a skip deletes it.
 */
export class RedisDeadLetters implements BrokerDeadLetters {
  constructor(
    private readonly redis: Redis,
    private readonly partitions: number,
    private readonly topic: string,
    private readonly group: string,
  ) {}

  async list(): Promise<BrokerDeadLetter[]> {
    return (await this.entries()).map(({ letter }) => letter);
  }

  async retry(messageId: string): Promise<void> {
    const { entryId, letter } = await this.find(messageId);
    try {
      await this.redis.xadd(redisNames.stream(this.topic, partitionOf(letter.message.key, this.partitions)), '*', ...toFields(letter.message, { [ONLY_GROUP_FIELD]: this.group }));
      await this.redis.xdel(redisNames.deadLetters(this.topic, this.group), entryId);
    } catch (error) {
      throw redisError(error);
    }
  }

  async skip(messageId: string): Promise<void> {
    const { entryId } = await this.find(messageId);
    try {
      await this.redis.xdel(redisNames.deadLetters(this.topic, this.group), entryId);
    } catch (error) {
      throw redisError(error);
    }
  }

  private async entries(): Promise<Array<{ entryId: string; letter: BrokerDeadLetter }>> {
    let entries: Array<[string, string[]]>;
    try {
      entries = await this.redis.xrange(redisNames.deadLetters(this.topic, this.group), '-', '+');
    } catch (error) {
      throw redisError(error);
    }
    return entries.map(([entryId, fields]) => {
      const map = fieldMap(fields);
      const letter: BrokerDeadLetter = {
        message: fromFields(map),
        error: map.error ?? 'unknown error',
        ...(map['error-code'] === undefined ? {} : { errorCode: map['error-code'] }),
        attempts: Number(map.attempts ?? 1),
        deadLetteredAt: new Date(map['dead-lettered-at'] ?? 0),
      };
      return { entryId, letter };
    });
  }

  private async find(messageId: string): Promise<{ entryId: string; letter: BrokerDeadLetter }> {
    const found = (await this.entries()).find(({ letter }) => letter.message.id === messageId);
    if (!found) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter ${messageId} in ${this.topic}/${this.group}`, { details: { topic: this.topic, group: this.group, messageId } });
    return found;
  }
}
