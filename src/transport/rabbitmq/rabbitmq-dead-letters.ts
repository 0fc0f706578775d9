import type { Channel, ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import { partitionOf } from '../../consumers/partition-of.js';
import { FactumError } from '../../core/errors.js';
import type { BrokerDeadLetter, BrokerDeadLetters } from '../broker.js';
import { fromAmqp, rawHeaders } from './rabbitmq-message.js';
import { rabbitMqError } from './rabbitmq-errors.js';
import { rabbitMqNames } from './rabbitmq-topology.js';

/** The headers factum adds to a message it dead-letters. */
export const DEAD_LETTER_HEADERS = {
  error: 'x-factum-error',
  errorCode: 'x-factum-error-code',
  attempts: 'x-factum-attempts',
  deadLetteredAt: 'x-factum-dead-lettered-at',
} as const;

/** A dead letter as the queue holds it: factum's headers, or RabbitMQ's `x-death` when the delivery limit parked it. */
function toDeadLetter(message: GetMessage, deliveryLimit: number): BrokerDeadLetter {
  const h = rawHeaders(message);
  const text = (name: string): string | undefined => (h[name] === undefined ? undefined : String(h[name]));
  const death = (Array.isArray(h['x-death']) ? h['x-death'][0] : undefined) as { reason?: string; time?: { value?: number } } | undefined;
  const errorCode = text(DEAD_LETTER_HEADERS.errorCode);
  const reason = text('x-first-death-reason') ?? death?.reason;
  return {
    message: fromAmqp(message),
    error: text(DEAD_LETTER_HEADERS.error) ?? `dead-lettered by RabbitMQ (${reason ?? 'unknown reason'})`,
    ...(errorCode === undefined ? {} : { errorCode }),
    // Not x-delivery-count: every listing (a get and a return) adds one to it in the dead-letter queue.
    attempts: Number(text(DEAD_LETTER_HEADERS.attempts) ?? (reason === 'delivery_limit' ? deliveryLimit : 1)),
    deadLetteredAt: new Date(text(DEAD_LETTER_HEADERS.deadLetteredAt) ?? (death?.time?.value ?? 0) * 1000),
  };
}

/**
 * The dead-letter queue of one group, read with basic.get on a channel of its own: every message
 * is taken (unacked) and the channel's close puts back the ones not retried or skipped, so listing
 * changes nothing and two operators cannot act on one message at once.
 */
export class RabbitMqDeadLetters implements BrokerDeadLetters {
  constructor(
    private readonly connection: () => Promise<ChannelModel>,
    private readonly topic: string,
    private readonly group: string,
    private readonly partitions: number,
    private readonly deliveryLimit: number,
  ) {}

  async list(): Promise<BrokerDeadLetter[]> {
    return this.withQueue(async (_channel, messages) => messages.map((message) => toDeadLetter(message, this.deliveryLimit)));
  }

  async retry(messageId: string): Promise<void> {
    await this.withQueue(async (channel, messages) => {
      const found = this.find(messages, messageId);
      const letter = fromAmqp(found);
      const headers: Record<string, unknown> = { ...rawHeaders(found) };
      for (const name of Object.keys(headers)) if (name.startsWith('x-')) delete headers[name];
      const queue = rabbitMqNames.partitionQueue(this.topic, this.group, partitionOf(letter.key, this.partitions));
      // Straight to the group's partition queue: the other groups of the topic handled it already.
      channel.sendToQueue(queue, found.content, { ...found.properties, headers, persistent: true });
      await channel.waitForConfirms();
      channel.ack(found);
    });
  }

  async skip(messageId: string): Promise<void> {
    await this.withQueue(async (channel, messages) => channel.ack(this.find(messages, messageId)));
  }

  private find(messages: GetMessage[], messageId: string): GetMessage {
    const found = messages.find((m) => String(m.properties.messageId) === messageId);
    if (!found) {
      throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter ${messageId} in ${this.topic}/${this.group}`, { details: { topic: this.topic, group: this.group, messageId } });
    }
    return found;
  }

  private async withQueue<T>(act: (channel: ConfirmChannel, messages: GetMessage[]) => Promise<T>): Promise<T> {
    let channel: Channel | undefined;
    try {
      const model = await this.connection();
      const confirm = await model.createConfirmChannel();
      channel = confirm;
      confirm.on('error', () => {});
      const messages: GetMessage[] = [];
      const queue = rabbitMqNames.deadLetterQueue(this.topic, this.group);
      try {
        for (;;) {
          const message = await confirm.get(queue, { noAck: false });
          if (message === false) break;
          messages.push(message);
        }
      } catch (error) {
        // No dead-letter queue (404): the group was never declared, so it has no dead letters.
        if ((error as { code?: unknown }).code !== 404) throw error;
      }
      return await act(confirm, messages);
    } catch (error) {
      if ((error as FactumError).code === 'DEAD_LETTER_NOT_FOUND') throw error;
      throw rabbitMqError(error, `reading the dead letters of ${this.topic}/${this.group}`);
    } finally {
      await channel?.close().catch(() => {});
    }
  }
}
