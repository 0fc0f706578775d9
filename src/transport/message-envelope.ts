import { FactumError } from '../core/errors.js';
import type { EventMetadata, JsonValue, RecordedEvent } from '../core/message.js';
import type { BrokerMessage } from './broker-message.js';

/**
 * The header names of an event on every broker. The W3C trace context keeps its standard names
 * so that tracing tools find it; the rest are prefixed so they never clash with a user's headers.
 * Metadata keys without a header of their own travel as JSON in `factum-metadata`.
 */
export const MESSAGE_HEADERS = {
  eventId: 'factum-event-id',
  eventType: 'factum-event-type',
  schemaVersion: 'factum-schema-version',
  streamId: 'factum-stream-id',
  streamVersion: 'factum-stream-version',
  globalPosition: 'factum-global-position',
  recordedAt: 'factum-recorded-at',
  correlationId: 'factum-correlation-id',
  causationId: 'factum-causation-id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  metadata: 'factum-metadata',
  contentType: 'content-type',
} as const;

/** Metadata keys that travel in a header of their own, not in `factum-metadata`. */
const OWN_HEADER = { correlationId: MESSAGE_HEADERS.correlationId, causationId: MESSAGE_HEADERS.causationId, traceparent: MESSAGE_HEADERS.traceparent, tracestate: MESSAGE_HEADERS.tracestate } as const;
/** The same, looked up per metadata key: a Map, so that a key such as `constructor` finds nothing. */
const OWN_HEADER_OF = new Map<string, string>(Object.entries(OWN_HEADER));

/**
 * The last time written as `factum-recorded-at`. The events of one append share their time, and
 * the relay turns them into messages one after the other: `toISOString` was a fifth of the cost
 * of a message.
 */
let lastRecordedAt = { time: Number.NaN, iso: '' };

function isoOf(date: Date): string {
  const time = date.getTime();
  if (time !== lastRecordedAt.time) lastRecordedAt = { time, iso: date.toISOString() };
  return lastRecordedAt.iso;
}

/**
 * A recorded event as a broker message: id = event id, key = stream id, the data as JSON in the
 * body, everything else in headers (`MESSAGE_HEADERS`).
 *
 * @example
 * await broker.publish('orders', events.map(eventToMessage))
 */
export function eventToMessage(event: RecordedEvent): BrokerMessage {
  const headers: Record<string, string> = {
    [MESSAGE_HEADERS.eventId]: event.id,
    [MESSAGE_HEADERS.eventType]: event.type,
    [MESSAGE_HEADERS.schemaVersion]: String(event.schemaVersion),
    [MESSAGE_HEADERS.streamId]: event.streamId,
    [MESSAGE_HEADERS.streamVersion]: String(event.streamVersion),
    [MESSAGE_HEADERS.globalPosition]: event.globalPosition.toString(),
    [MESSAGE_HEADERS.recordedAt]: isoOf(event.recordedAt),
    [MESSAGE_HEADERS.contentType]: 'application/json',
  };
  // Made only when some metadata has no header of its own: most events carry none. Without a
  // prototype, so that a key `__proto__` is kept as data.
  let rest: Record<string, JsonValue> | undefined;
  const metadata = event.metadata;
  for (const key in metadata) {
    const value = metadata[key];
    if (value === undefined) continue;
    const header = OWN_HEADER_OF.get(key);
    if (header !== undefined && typeof value === 'string') headers[header] = value;
    else (rest ??= Object.create(null) as Record<string, JsonValue>)[key] = value;
  }
  if (rest !== undefined) headers[MESSAGE_HEADERS.metadata] = JSON.stringify(rest);
  return { id: event.id, key: event.streamId, headers, body: Buffer.from(JSON.stringify(event.data ?? null)) };
}

/**
 * The inverse of `eventToMessage`: the recorded event a consumer handles. A message that lacks
 * factum's headers, has one that is malformed (a version that is not a positive integer, a
 * position that is not a number, a time that is not a date) or whose body is not JSON fails with
 * `INVALID_EVENT`.
 *
 * @example
 * const event = messageToEvent(delivery.message)
 */
export function messageToEvent(message: BrokerMessage): RecordedEvent {
  const h = message.headers;
  const required = (name: string): string => {
    const value = h[name];
    if (value === undefined) throw new FactumError('INVALID_EVENT', `Message ${message.id} has no "${name}" header: it was not published by factum`, { details: { messageId: message.id, header: name } });
    return value;
  };
  // A header that is there but malformed is refused here, so that no NaN version or invalid date reaches a handler.
  const malformed = (name: string): FactumError =>
    new FactumError('INVALID_EVENT', `Message ${message.id} has a malformed "${name}" header: ${JSON.stringify(h[name])}`, { details: { messageId: message.id, header: name } });
  const positive = (name: string, min: number): number => {
    const value = Number(required(name));
    if (!Number.isSafeInteger(value) || value < min) throw malformed(name);
    return value;
  };
  const position = required(MESSAGE_HEADERS.globalPosition);
  if (!/^\d+$/.test(position)) throw malformed(MESSAGE_HEADERS.globalPosition);
  const recordedAt = new Date(required(MESSAGE_HEADERS.recordedAt));
  if (Number.isNaN(recordedAt.getTime())) throw malformed(MESSAGE_HEADERS.recordedAt);
  const metadata: EventMetadata = h[MESSAGE_HEADERS.metadata] === undefined ? {} : parseJson(message.id, h[MESSAGE_HEADERS.metadata]!);
  for (const [key, header] of Object.entries(OWN_HEADER)) if (h[header] !== undefined) metadata[key] = h[header];
  return {
    id: required(MESSAGE_HEADERS.eventId),
    type: required(MESSAGE_HEADERS.eventType),
    data: parseJson(message.id, Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('utf8')),
    metadata,
    schemaVersion: positive(MESSAGE_HEADERS.schemaVersion, 1),
    streamId: required(MESSAGE_HEADERS.streamId),
    streamVersion: positive(MESSAGE_HEADERS.streamVersion, 1),
    globalPosition: BigInt(position),
    recordedAt,
  };
}

function parseJson<T>(messageId: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new FactumError('INVALID_EVENT', `Message ${messageId} does not hold JSON`, { cause: error, details: { messageId } });
  }
}
