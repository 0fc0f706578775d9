import { describe, expect, it } from 'vitest';
import { fromKafka, toKafka } from './kafka-message.js';

describe('Kafka records', () => {
  const message = { id: 'id-1', key: 'order-1', headers: { 'factum-event-type': 'OrderPlaced', traceparent: '00-ab-cd-01' }, body: new Uint8Array([123, 125]) };

  it('carry the key as the record key and the id as a header, and come back as the same message', () => {
    const record = toKafka(message);
    expect(record.key).toBe('order-1');
    expect(record.headers).toMatchObject({ 'factum-message-id': 'id-1', 'factum-event-type': 'OrderPlaced' });
    // Kafka hands headers back as bytes.
    const headers = Object.fromEntries(Object.entries(record.headers!).map(([name, value]) => [name, Buffer.from(String(value))]));
    const back = fromKafka({ key: Buffer.from(String(record.key)), value: record.value as Buffer, headers });
    expect({ ...back, body: [...back.body] }).toEqual({ ...message, body: [123, 125] });
  });

  it('keep factum\'s internal x-factum- headers out of the message headers', () => {
    const record = toKafka(message, { 'x-factum-only-group': 'billing' });
    const back = fromKafka({ key: Buffer.from('order-1'), value: Buffer.from('{}'), headers: record.headers! });
    expect(back.headers).toEqual(message.headers);
  });
});
