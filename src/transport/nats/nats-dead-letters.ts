import { randomUUID } from 'node:crypto';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { partitionOf } from '../../consumers/partition-of.js';
import { FactumError } from '../../core/errors.js';
import type { BrokerDeadLetter, BrokerDeadLetters } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { deadLetterReason } from '../dead-letter-reason.js';
import { ONLY_GROUP_HEADER } from './nats-consumer.js';
import { natsError } from './nats-errors.js';
import { INTERNAL_HEADER_PREFIX, fromNats, rawHeaders } from './nats-message.js';
import { natsNames, streamExists } from './nats-topology.js';

/** The headers factum adds to a message it dead-letters. */
export const DEAD_LETTER_HEADERS = {
  error: `${INTERNAL_HEADER_PREFIX}error`,
  errorCode: `${INTERNAL_HEADER_PREFIX}error-code`,
  attempts: `${INTERNAL_HEADER_PREFIX}attempts`,
  deadLetteredAt: `${INTERNAL_HEADER_PREFIX}dead-lettered-at`,
} as const;

/** The extra headers of a dead letter, published with the message to the group's dead-letter stream. */
export function deadLetterHeaders(error: unknown, attempts: number): Record<string, string> {
  const reason = deadLetterReason(error);
  return {
    // A NATS header cannot hold a line break, and an error's message often has some.
    [DEAD_LETTER_HEADERS.error]: reason.error.replace(/\r\n|\r|\n/g, ' '),
    ...(reason.errorCode === undefined ? {} : { [DEAD_LETTER_HEADERS.errorCode]: reason.errorCode }),
    [DEAD_LETTER_HEADERS.attempts]: String(attempts),
    [DEAD_LETTER_HEADERS.deadLetteredAt]: new Date().toISOString(),
  };
}

export interface NatsDeadLettersContext {
  jsm: JetStreamManager;
  partitions: number;
  /** Publishes a message as it is, with a fresh `Nats-Msg-Id`. */
  send: (subject: string, message: BrokerMessage, msgID: string, extra: Record<string, string>) => Promise<void>;
}

/**
 * The dead letters of a topic and group: the messages of its dead-letter stream. A retry
 * publishes the message to its key's partition of the topic, marked for this group only, then
 * deletes the letter; a skip deletes it.
 */
export class NatsDeadLetters implements BrokerDeadLetters {
  private readonly stream: string;

  constructor(
    private readonly context: NatsDeadLettersContext,
    private readonly topic: string,
    private readonly group: string,
  ) {
    this.stream = natsNames.deadLetterStream(topic, group);
  }

  async list(): Promise<BrokerDeadLetter[]> {
    return (await this.stored()).map(({ letter }) => letter);
  }

  async retry(messageId: string): Promise<void> {
    const { stored, letter } = await this.find(messageId);
    const subject = natsNames.subject(this.topic, partitionOf(letter.message.key, this.context.partitions));
    await this.context.send(subject, letter.message, `${messageId}:retry:${randomUUID()}`, { [ONLY_GROUP_HEADER]: this.group });
    await this.delete(stored.seq);
  }

  async skip(messageId: string): Promise<void> {
    await this.delete((await this.find(messageId)).stored.seq);
  }

  private async find(messageId: string): Promise<{ stored: StoredMsg; letter: BrokerDeadLetter }> {
    const found = (await this.stored()).find(({ letter }) => letter.message.id === messageId);
    if (!found) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter ${messageId} in ${this.topic}/${this.group}`, { details: { topic: this.topic, group: this.group, messageId } });
    return found;
  }

  private async delete(seq: number): Promise<void> {
    try {
      await this.context.jsm.streams.deleteMessage(this.stream, seq);
    } catch (error) {
      throw natsError(error, `deleting dead letter ${seq} of ${this.stream}`);
    }
  }

  /** Every letter of the stream (dead letters are few: read one by one by sequence). */
  private async stored(): Promise<Array<{ stored: StoredMsg; letter: BrokerDeadLetter }>> {
    if (!(await streamExists(this.context.jsm, this.stream))) return [];
    const out: Array<{ stored: StoredMsg; letter: BrokerDeadLetter }> = [];
    try {
      const { state } = await this.context.jsm.streams.info(this.stream);
      for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
        const stored = await this.context.jsm.streams.getMessage(this.stream, { seq });
        if (stored) out.push({ stored, letter: toDeadLetter(stored) });
      }
    } catch (error) {
      throw natsError(error, `reading dead letters of ${this.stream}`);
    }
    return out;
  }
}

function toDeadLetter(stored: StoredMsg): BrokerDeadLetter {
  const h = rawHeaders(stored.header);
  const errorCode = h[DEAD_LETTER_HEADERS.errorCode];
  return {
    message: fromNats(stored.header, stored.data),
    error: h[DEAD_LETTER_HEADERS.error] ?? 'unknown error',
    ...(errorCode === undefined ? {} : { errorCode }),
    attempts: Number(h[DEAD_LETTER_HEADERS.attempts] ?? 1),
    deadLetteredAt: new Date(h[DEAD_LETTER_HEADERS.deadLetteredAt] ?? 0),
  };
}
