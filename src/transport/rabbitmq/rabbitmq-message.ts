import type { Message, Options } from 'amqplib';
import type { BrokerMessage } from '../broker-message.js';

/** The AMQP header that carries the message key (AMQP has no key of its own). */
const KEY_HEADER = 'factum-key';

/**
 * A broker message as AMQP content and properties: persistent, the id as `message-id`, the key
 * and the headers as headers. Headers starting with `x-` belong to RabbitMQ (`x-delivery-count`,
 * `x-death`) or to factum's dead letters, and are not handed back as message headers.
 *
 * @example
 * const { content, options } = toAmqp(message)
 */
export function toAmqp(message: BrokerMessage, extraHeaders: Record<string, string> = {}): { content: Buffer; options: Options.Publish } {
  const content = Buffer.isBuffer(message.body) ? message.body : Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  return {
    content,
    options: { persistent: true, messageId: message.id, headers: { ...message.headers, [KEY_HEADER]: message.key, ...extraHeaders } },
  };
}

/** The inverse of `toAmqp`, for a delivered or fetched message. */
export function fromAmqp(message: Message): BrokerMessage {
  const headers: Record<string, string> = {};
  const raw = (message.properties.headers ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(raw)) {
    if (name === KEY_HEADER || name.startsWith('x-') || value === undefined || value === null) continue;
    headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return { id: String(message.properties.messageId), key: String(raw[KEY_HEADER] ?? ''), headers, body: message.content };
}

/** The headers of a delivered message, RabbitMQ's and factum's `x-` ones included. */
export function rawHeaders(message: Message): Record<string, unknown> {
  return (message.properties.headers ?? {}) as Record<string, unknown>;
}
