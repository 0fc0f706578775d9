// An EventConsumer's dead letters retried and skipped by an operator through the database (what
// `factum dead-letters retry|skip` does): the running consumer carries them out; a skip records
// the message in the inbox as a skip from code does, so a re-publish of it is absorbed.
import { afterAll, expect, it } from 'vitest';
import { describeOnStores } from '../../../test/describe-on-stores.js';
import { ev, eventually } from '../../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';
import { allDeadLetters } from '../../consumers/all-dead-letters.js';
import { consumerStorageFor } from '../../consumers/consumer-storage.js';
import { requestDeadLetterAction } from '../../consumers/request-dead-letter-action.js';
import { MemoryBroker } from '../memory/memory-broker.js';
import { eventToMessage } from '../message-envelope.js';
import { Relay } from '../relay/relay.js';
import { EventConsumer } from './event-consumer.js';

afterAll(() => dropSchemas(createdSchemas));

describeOnStores(
  'EventConsumer: dead-letter requests',
  (on) => {
    it('retries one key and skips another through the running consumer; the skipped message is in the inbox and a re-publish of it is absorbed', async () => {
      const store = await on.open();
      const broker = new MemoryBroker();
      const broken = new Set(['k-1', 'k-2']);
      const handled: string[] = [];
      const consumer = new EventConsumer({
        name: 'billing',
        broker,
        topic: 'k',
        store,
        retry: { immediateRetries: 0, backoffRetries: 0 },
        handler: (event) => {
          if (broken.has(event.streamId)) throw new Error(`${event.streamId} refused`);
          handled.push(`${event.streamId}@${event.streamVersion}`);
        },
      });
      const relay = new Relay(store, { name: 'billing-relay', broker });
      await consumer.start();
      await relay.start();
      try {
        await store.append('k-1', [ev('One'), ev('Two')]);
        await store.append('k-2', [ev('One'), ev('Two')]);
        await eventually(async () => (await allDeadLetters(store)).filter((l) => l.subscription === 'consumer:billing').length === 4, 20_000, 'two dead, two parked');
        const dead = async (key: string) => (await allDeadLetters(store)).find((l) => l.streamId === key && l.status === 'dead')!;
        broken.clear();

        const retried = await requestDeadLetterAction(store, (await dead('k-1')).id, 'retry', { waitSeconds: 20 });
        expect(retried).toMatchObject({ outcome: 'succeeded', request: { handled: 2, remaining: 0 } });
        const skippedLetter = await dead('k-2');
        const skipped = await requestDeadLetterAction(store, skippedLetter.id, 'skip', { waitSeconds: 20 });
        expect(skipped).toMatchObject({ outcome: 'succeeded', request: { handled: 1, remaining: 0 } });
        expect(handled).toEqual(['k-1@1', 'k-1@2', 'k-2@2']);
        expect(await consumerStorageFor(store).hasInbox('billing', skippedLetter.event.id)).toBe(true);

        // The skipped message again (a relay re-publish after a crash): the inbox absorbs it.
        await broker.publish('k', [eventToMessage(skippedLetter.event)]);
        const after = await store.append('k-2', [ev('Three')]);
        await eventually(() => handled.includes('k-2@3'), 20_000, 'the next message of k-2');
        expect(handled).toEqual(['k-1@1', 'k-1@2', 'k-2@2', 'k-2@3']);
        expect(after.lastPosition).toBeGreaterThan(0n);
        expect(consumer.status().blockedKeys).toEqual([]);
        expect(await allDeadLetters(store)).toEqual([]);
      } finally {
        await relay.stop();
        await consumer.stop();
      }
    });
  },
  { needs: ['sql'] },
);
