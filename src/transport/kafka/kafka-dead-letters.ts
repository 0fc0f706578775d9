import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, KafkaMessage, Message } from 'kafkajs';
import { partitionOf } from '../../consumers/partition-of.js';
import { FactumError } from '../../core/errors.js';
import type { BrokerDeadLetter, BrokerDeadLetters } from '../broker.js';
import { brokerUnavailableError } from '../broker-errors.js';
import type { BrokerMessage } from '../broker-message.js';
import { deadLetterReason } from '../dead-letter-reason.js';
import { ONLY_GROUP_HEADER } from './kafka-consumer.js';
import { kafkaError } from './kafka-errors.js';
import { INTERNAL_HEADER_PREFIX, fromKafka, rawHeaders, toKafka } from './kafka-message.js';
import { kafkaNames, topicExists } from './kafka-topology.js';

/** The headers factum adds to a message it dead-letters. */
export const DEAD_LETTER_HEADERS = {
  error: `${INTERNAL_HEADER_PREFIX}error`,
  errorCode: `${INTERNAL_HEADER_PREFIX}error-code`,
  attempts: `${INTERNAL_HEADER_PREFIX}attempts`,
  deadLetteredAt: `${INTERNAL_HEADER_PREFIX}dead-lettered-at`,
  key: `${INTERNAL_HEADER_PREFIX}key`,
} as const;

/**
 * The record of a dead letter: keyed by the message id (so that a compacted dead-letter topic
 * keeps the last word on each), the original key in a header, always in partition 0 so that a
 * letter and the marker that settles it stay in order. A marker is the same key with no value.
 */
export function deadLetterRecord(message: BrokerMessage, error: unknown, attempts: number): Message {
  const reason = deadLetterReason(error);
  const record = toKafka(message, {
    [DEAD_LETTER_HEADERS.error]: reason.error,
    ...(reason.errorCode === undefined ? {} : { [DEAD_LETTER_HEADERS.errorCode]: reason.errorCode }),
    [DEAD_LETTER_HEADERS.attempts]: String(attempts),
    [DEAD_LETTER_HEADERS.deadLetteredAt]: new Date().toISOString(),
    [DEAD_LETTER_HEADERS.key]: message.key,
  });
  return { ...record, key: message.id, partition: 0 };
}

const settledRecord = (messageId: string): Message => ({ key: messageId, value: null, partition: 0 });

function toDeadLetter(record: KafkaMessage): BrokerDeadLetter {
  const h = rawHeaders(record);
  const message = { ...fromKafka(record), key: h[DEAD_LETTER_HEADERS.key] ?? '' };
  const errorCode = h[DEAD_LETTER_HEADERS.errorCode];
  return {
    message,
    error: h[DEAD_LETTER_HEADERS.error] ?? 'unknown error',
    ...(errorCode === undefined ? {} : { errorCode }),
    attempts: Number(h[DEAD_LETTER_HEADERS.attempts] ?? 1),
    deadLetteredAt: new Date(h[DEAD_LETTER_HEADERS.deadLetteredAt] ?? 0),
  };
}

/** How long a listing waits for the reader to reach the end of the topic before it reports the cluster unavailable. */
const CATCH_UP_LIMIT_MS = 30_000;

/**
 * Reads a dead-letter topic from its start and keeps the letters not settled yet. Kafka has no
 * read-and-remove: the topic is a log of letters and markers, and this fold is the current list.
 * kafkajs reads only through a consumer group, so the reader has one of its own that commits
 * nothing; it is started once per broker and topic, and stays subscribed until the broker closes.
 */
export class DeadLetterReader {
  private readonly letters = new Map<string, BrokerDeadLetter>();
  private readonly positions = new Map<number, bigint>();
  private started: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly topic: string,
  ) {}

  /** The letters not settled, once the reader has read everything the topic held when asked. */
  async current(): Promise<BrokerDeadLetter[]> {
    this.started ??= this.start();
    await this.started;
    let ends: Array<{ partition: number; offset: string }>;
    try {
      ends = await this.admin.fetchTopicOffsets(this.topic);
    } catch (error) {
      throw brokerUnavailableError('Kafka', error);
    }
    const deadline = Date.now() + CATCH_UP_LIMIT_MS;
    for (;;) {
      if (this.failure) throw brokerUnavailableError('Kafka', this.failure);
      if (Date.now() > deadline) throw brokerUnavailableError('Kafka', new Error(`the dead-letter reader of ${this.topic} did not catch up within ${CATCH_UP_LIMIT_MS / 1000} s`));
      if (ends.every(({ partition, offset }) => (this.positions.get(partition) ?? 0n) >= BigInt(offset))) return [...this.letters.values()];
      await sleep(10);
    }
  }

  async close(): Promise<void> {
    if (this.started) await this.consumer.disconnect().catch(() => {});
  }

  private async start(): Promise<void> {
    try {
      // kafkajs restarts a consumer after most crashes; only one it gave up on is a failure to report.
      this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) this.failure = payload.error;
      });
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const id = message.key?.toString('utf8') ?? '';
          if (message.value === null) this.letters.delete(id);
          else this.letters.set(id, toDeadLetter(message));
          this.positions.set(partition, BigInt(message.offset) + 1n);
        },
      });
    } catch (error) {
      this.started = undefined;
      throw brokerUnavailableError('Kafka', error);
    }
  }
}

export interface KafkaDeadLettersContext {
  admin: Admin;
  partitions: number;
  /** The broker's reader of a dead-letter topic (one per topic, shared by every listing). */
  reader: (deadLetterTopic: string) => DeadLetterReader;
  send: (topic: string, records: Message[]) => Promise<void>;
}

/**
 * The dead letters of one topic and group. A retry publishes the message to the topic again,
 * addressed to this group only (the topic's other groups pass over it), at the end of its key's
 * order; a retry or a skip then writes the marker that takes the letter off the list.
 */
export class KafkaDeadLetters implements BrokerDeadLetters {
  constructor(
    private readonly context: KafkaDeadLettersContext,
    private readonly topic: string,
    private readonly group: string,
  ) {}

  async list(): Promise<BrokerDeadLetter[]> {
    const deadLetterTopic = kafkaNames.deadLetterTopic(this.topic, this.group);
    try {
      // No dead-letter topic: the group was never declared, so it has none (and this creates none).
      if (!(await topicExists(this.context.admin, deadLetterTopic))) return [];
      return await this.context.reader(deadLetterTopic).current();
    } catch (error) {
      throw kafkaError(error, `reading the dead letters of ${this.topic}/${this.group}`);
    }
  }

  async retry(messageId: string): Promise<void> {
    const letter = await this.find(messageId);
    const record = { ...toKafka(letter.message, { [ONLY_GROUP_HEADER]: this.group }), partition: partitionOf(letter.message.key, this.context.partitions) };
    await this.context.send(this.topic, [record]);
    await this.context.send(kafkaNames.deadLetterTopic(this.topic, this.group), [settledRecord(messageId)]);
  }

  async skip(messageId: string): Promise<void> {
    await this.find(messageId);
    await this.context.send(kafkaNames.deadLetterTopic(this.topic, this.group), [settledRecord(messageId)]);
  }

  private async find(messageId: string): Promise<BrokerDeadLetter> {
    const found = (await this.list()).find((letter) => letter.message.id === messageId);
    if (!found) {
      throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter ${messageId} in ${this.topic}/${this.group}`, { details: { topic: this.topic, group: this.group, messageId } });
    }
    return found;
  }
}

/** A fresh group id for a reader: it commits nothing, so it always reads from the start. */
export const readerGroupId = (deadLetterTopic: string): string => `${deadLetterTopic}.reader.${randomUUID().slice(0, 8)}`;
