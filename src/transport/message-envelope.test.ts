import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../core/message.js';
import { eventToMessage, MESSAGE_HEADERS, messageToEvent } from './message-envelope.js';

const event: RecordedEvent = {
  id: '0190f5a0-0000-7000-8000-000000000001',
  type: 'OrderPlaced',
  data: { orderId: 'o-1', lines: [{ sku: 'é-1', qty: 2 }], note: null },
  metadata: {
    correlationId: 'c-1',
    causationId: 'cmd-1',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    userId: 'u-9',
    tenant: { id: 't-1' },
  },
  schemaVersion: 3,
  streamId: 'order-1',
  streamVersion: 7,
  globalPosition: 9_007_199_254_740_993n,
  recordedAt: new Date('2026-12-01T10:00:00.123Z'),
};

describe('message envelope', () => {
  it('maps an event to a message with id = event id, key = stream id, data as JSON, the rest in named headers', () => {
    const message = eventToMessage(event);
    expect(message.id).toBe(event.id);
    expect(message.key).toBe('order-1');
    expect(JSON.parse(Buffer.from(message.body).toString('utf8'))).toEqual(event.data);
    expect(message.headers).toEqual({
      [MESSAGE_HEADERS.eventId]: event.id,
      [MESSAGE_HEADERS.eventType]: 'OrderPlaced',
      [MESSAGE_HEADERS.schemaVersion]: '3',
      [MESSAGE_HEADERS.streamId]: 'order-1',
      [MESSAGE_HEADERS.streamVersion]: '7',
      [MESSAGE_HEADERS.globalPosition]: '9007199254740993',
      [MESSAGE_HEADERS.recordedAt]: '2026-12-01T10:00:00.123Z',
      [MESSAGE_HEADERS.correlationId]: 'c-1',
      [MESSAGE_HEADERS.causationId]: 'cmd-1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      [MESSAGE_HEADERS.metadata]: JSON.stringify({ userId: 'u-9', tenant: { id: 't-1' } }),
      'content-type': 'application/json',
    });
  });

  it('round-trips an event, a bigint position beyond 2^53 and empty metadata included', () => {
    expect(messageToEvent(eventToMessage(event))).toEqual(event);
    const bare = { ...event, metadata: {}, data: 'text' };
    const message = eventToMessage(bare);
    expect(message.headers[MESSAGE_HEADERS.metadata]).toBeUndefined();
    expect(messageToEvent(message)).toEqual(bare);
  });


  it('keeps metadata keys that name Object properties as data, and each event its own time', () => {
    const odd = { ...event, metadata: JSON.parse('{"constructor":"c","toString":"t","__proto__":{"x":1},"correlationId":7}') as RecordedEvent['metadata'] };
    const message = eventToMessage(odd);
    expect(JSON.parse(message.headers[MESSAGE_HEADERS.metadata]!)).toEqual({ constructor: 'c', toString: 't', ['__proto__']: { x: 1 }, correlationId: 7 });
    expect(messageToEvent(message).metadata).toEqual(odd.metadata);
    const times = ['2026-12-01T10:00:00.123Z', '2026-12-01T10:00:00.123Z', '2026-12-01T10:00:00.124Z', '2026-12-01T10:00:00.123Z'];
    expect(times.map((at) => eventToMessage({ ...event, recordedAt: new Date(at) }).headers[MESSAGE_HEADERS.recordedAt])).toEqual(times);
  });
  it('refuses a message without factum headers or with a body that is not JSON, as INVALID_EVENT', () => {
    const message = eventToMessage(event);
    expect(() => messageToEvent({ ...message, headers: {} })).toThrow(expect.objectContaining({ code: 'INVALID_EVENT' }));
    expect(() => messageToEvent({ ...message, body: Buffer.from('{oops') })).toThrow(expect.objectContaining({ code: 'INVALID_EVENT' }));
  });

  it('refuses malformed factum headers (a version that is no positive integer, a position that is no number, a time that is no date) as INVALID_EVENT naming the header', () => {
    const message = eventToMessage(event);
    for (const [header, value] of [
      [MESSAGE_HEADERS.schemaVersion, 'two'],
      [MESSAGE_HEADERS.schemaVersion, '0'],
      [MESSAGE_HEADERS.streamVersion, '1.5'],
      [MESSAGE_HEADERS.globalPosition, 'x12'],
      [MESSAGE_HEADERS.recordedAt, 'yesterday'],
    ] as const) {
      expect(() => messageToEvent({ ...message, headers: { ...message.headers, [header]: value } })).toThrow(
        expect.objectContaining({ code: 'INVALID_EVENT', details: { messageId: event.id, header } }),
      );
    }
  });
});
