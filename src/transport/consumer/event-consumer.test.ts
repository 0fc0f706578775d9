import { describe, expect, it, vi } from 'vitest';
import { MemoryBroker } from '../memory/memory-broker.js';
import { eventToMessage } from '../message-envelope.js';
import { recorded, runEventConsumerSuite, SUITE_BROKER_SETTINGS } from '../../../test/transport/event-consumer-suite.js';
import { storeFactories } from '../../../test/stores.js';
import { EventConsumer } from './event-consumer.js';

const factories = await storeFactories();
for (const name of ['memory', 'pglite'] as const) {
  runEventConsumerSuite({
    name: `memory broker + ${name} store`,
    openBroker: async () => new MemoryBroker(SUITE_BROKER_SETTINGS),
    store: factories.find((f) => f.name === name)!,
  });
}

describe('EventConsumer without a store', () => {
  it('delivers at least once with no inbox, and refuses context.append and context.store with INVALID_ARGUMENT', async () => {
    const broker = new MemoryBroker(SUITE_BROKER_SETTINGS);
    const refusals: unknown[] = [];
    const seen: string[] = [];
    const consumer = await new EventConsumer({
      name: 'mailer',
      broker,
      topic: 'orders',
      handler: async (event, context) => {
        seen.push(event.id);
        refusals.push(await context.append('x-1', [{ type: 'X', data: {} }]).catch((error: unknown) => error));
        try {
          void context.store;
        } catch (error) {
          refusals.push(error);
        }
      },
    }).start();
    const event = recorded('order-1', 1);
    await broker.publish('orders', [eventToMessage(event), eventToMessage(event)]);
    await vi.waitFor(() => expect(consumer.status().handled).toBe(2));
    await broker.close();
    expect(seen).toEqual([event.id, event.id]);
    expect(consumer.status()).toMatchObject({ group: 'mailer', handled: 2, duplicates: 0 });
    expect(refusals).toHaveLength(4);
    for (const refusal of refusals) expect(refusal).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses a missing name or topic and a bad retry policy at construction, as INVALID_ARGUMENT', () => {
    const broker = new MemoryBroker();
    const handler = async () => {};
    expect(() => new EventConsumer({ name: '', broker, topic: 't', handler })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new EventConsumer({ name: 'n', broker, topic: '', handler })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new EventConsumer({ name: 'n', broker, topic: 't', handler, retry: { backoffRetries: -1 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
