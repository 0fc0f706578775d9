import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { BrokerMessage } from '../broker-message.js';

/** The Kafka header that carries the message id (Kafka records have a key but no id). */
const ID_HEADER = 'factum-message-id';

/**
 * Headers starting with this belong to factum's bookkeeping (dead-letter reasons, a retry
 * addressed to one group) and are not handed back as message headers.
 */
export const INTERNAL_HEADER_PREFIX = 'x-factum-';

/**
 * A broker message as a Kafka record: the key as the record key (so that Kafka tooling sees the
 * stream id), the id and the headers as headers, the body as the value.
 *
 * @example
 * await producer.send({ topic, messages: [{ ...toKafka(message), partition }] })
 */
export function toKafka(message: BrokerMessage, extraHeaders: Record<string, string> = {}): Message {
  const value = Buffer.isBuffer(message.body) ? message.body : Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  return { key: message.key, value, headers: { ...message.headers, [ID_HEADER]: message.id, ...extraHeaders } };
}

/** The inverse of `toKafka`, for a consumed record. */
export function fromKafka(record: Pick<KafkaMessage, 'key' | 'value' | 'headers'>): BrokerMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawHeaders(record))) {
    if (name === ID_HEADER || name.startsWith(INTERNAL_HEADER_PREFIX) || value === undefined) continue;
    headers[name] = value;
  }
  return { id: rawHeaders(record)[ID_HEADER] ?? '', key: record.key?.toString('utf8') ?? '', headers, body: record.value ?? Buffer.alloc(0) };
}

/** A record's headers as strings, factum's internal ones included (Kafka header values are bytes). */
export function rawHeaders(record: { headers?: IHeaders }): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    headers[name] = first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return headers;
}
