// A relay's dead letters (events the broker refused for good) retried and skipped by an operator
// through the database: the running relay publishes them, and the events parked behind them, in order.
import { afterAll, expect, it } from 'vitest';
import { describeOnStores } from '../../../test/describe-on-stores.js';
import { ev, eventually } from '../../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';
import { allDeadLetters } from '../../consumers/all-dead-letters.js';
import { requestDeadLetterAction } from '../../consumers/request-dead-letter-action.js';
import { MemoryBroker } from '../memory/memory-broker.js';
import { MESSAGE_HEADERS } from '../message-envelope.js';
import { Relay } from './relay.js';

afterAll(() => dropSchemas(createdSchemas));

describeOnStores(
  'relay: dead-letter requests',
  (on) => {
    it('publishes a refused event and the ones parked behind it once retried, and the rest of a skipped one', async () => {
      const store = await on.open();
      const broker = new MemoryBroker();
      const published: string[] = [];
      const consumer = await broker.consume({
        topic: 'r',
        group: 'readers',
        handler: async (delivery) => {
          published.push(`${delivery.message.key}@${delivery.message.headers[MESSAGE_HEADERS.streamVersion]}`);
          await delivery.ack();
        },
      });
      // Events of these streams go to a topic nobody is bound to: refused for good (unroutable).
      const unroutable = new Set(['r-1', 'r-2']);
      const relay = new Relay(store, { name: 'out', broker, pollIntervalMs: 100, retry: { immediateRetries: 0, backoffRetries: 0 }, route: (e) => (unroutable.has(e.streamId) ? 'nowhere' : 'r') });
      await relay.start();
      try {
        await store.append('r-1', [ev('One'), ev('Two')]);
        await store.append('r-2', [ev('One'), ev('Two')]);
        await eventually(async () => (await allDeadLetters(store)).filter((l) => l.subscription === 'relay:out' && l.status === 'dead').length === 2, 20_000, 'two refused');
        const dead = async (s: string) => (await allDeadLetters(store)).find((l) => l.streamId === s && l.status === 'dead')!.id;
        unroutable.clear();
        expect(await requestDeadLetterAction(store, await dead('r-1'), 'retry', { waitSeconds: 20 })).toMatchObject({ outcome: 'succeeded', request: { handled: 2, remaining: 0 } });
        expect(await requestDeadLetterAction(store, await dead('r-2'), 'skip', { waitSeconds: 20 })).toMatchObject({ outcome: 'succeeded', request: { handled: 1, remaining: 0 } });
        await eventually(() => published.length === 3, 20_000, 'three published');
        expect(published).toEqual(['r-1@1', 'r-1@2', 'r-2@2']);
        expect(await allDeadLetters(store)).toEqual([]);
      } finally {
        await relay.stop();
        await consumer.stop();
      }
    });
  },
  { needs: ['sql'] },
);
