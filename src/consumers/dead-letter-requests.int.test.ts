// Retry and skip asked for in the database (what the CLI and the standalone dashboard do) and
// carried out by the running owner with its handler; here the operator's side shares the process,
// cli-dead-letters.int.test.ts runs it from another one.
import { afterAll, expect, it } from 'vitest';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { ev, eventually } from '../../test/runner-suites/helpers.js';
import { caught } from '../../test/caught.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import type { EventStore } from '../core/event-store.js';
import { allDeadLetters } from './all-dead-letters.js';
import { requestDeadLetterAction } from './request-dead-letter-action.js';
import { PartitionedSubscription } from './partitioned-subscription.js';
import { Subscription } from './subscription.js';

afterAll(() => dropSchemas(createdSchemas));

/** A subscription whose handler throws for the streams in `broken`, with no retries: their first event is dead at once. */
function failing(store: EventStore, broken: Set<string>, handled: string[]): Subscription {
  return new Subscription(store, {
    name: 'requests-sub',
    pollIntervalMs: 100,
    retry: { immediateRetries: 0, backoffRetries: 0 },
    handler: (event) => {
      if (broken.has(event.streamId)) throw Object.assign(new Error(`${event.streamId} is broken`), { code: 'BROKEN' });
      handled.push(`${event.streamId}@${event.streamVersion}`);
    },
  });
}

async function deadOf(store: EventStore, streamId: string): Promise<string> {
  const letter = (await allDeadLetters(store)).find((l) => l.streamId === streamId && l.status === 'dead');
  if (!letter) throw new Error(`no dead letter of ${streamId}`);
  return letter.id;
}

describeOnStores(
  'dead-letter requests',
  (on) => {
    it('retries through the owner (the parked events follow in order), skips in the database, and reports a retry that fails again', async () => {
      const store = await on.open();
      const broken = new Set(['a-1', 'b-1', 'c-1']);
      const handled: string[] = [];
      const sub = failing(store, broken, handled);
      await sub.start();
      try {
        for (const s of ['a-1', 'b-1', 'c-1']) await store.append(s, [ev('One'), ev('Two'), ev('Three')]);
        const { lastPosition } = await store.append('ok-1', [ev('Fine')]);
        await sub.waitFor(lastPosition, { timeoutMs: 20_000 });
        await eventually(async () => (await allDeadLetters(store)).filter((l) => l.status === 'dead').length === 3);
        expect(handled).toEqual(['ok-1@1']);

        broken.delete('a-1');
        const retried = await requestDeadLetterAction(store, await deadOf(store, 'a-1'), 'retry', { waitSeconds: 20 });
        expect(retried.outcome).toBe('succeeded');
        expect(retried.request).toMatchObject({ action: 'retry', streamId: 'a-1', handled: 3, remaining: 0 });
        expect(retried.request.claimedBy).toMatch(new RegExp(`:${process.pid}$`));
        expect(handled.filter((h) => h.startsWith('a-1'))).toEqual(['a-1@1', 'a-1@2', 'a-1@3']);

        broken.delete('b-1');
        const skipped = await requestDeadLetterAction(store, await deadOf(store, 'b-1'), 'skip', { waitSeconds: 20 });
        expect(skipped.outcome).toBe('succeeded');
        expect(skipped.request).toMatchObject({ action: 'skip', handled: 2, remaining: 0 });
        expect(handled.filter((h) => h.startsWith('b-1'))).toEqual(['b-1@2', 'b-1@3']);
        // The owner forgot the stream it had cached as blocked: its next event is handled, not parked.
        const late = await store.append('b-1', [ev('Four')]);
        await sub.waitFor(late.lastPosition, { timeoutMs: 20_000 });
        expect(handled.at(-1)).toBe('b-1@4');
        expect(sub.status().blockedStreams).toEqual(['c-1']);

        const again = await requestDeadLetterAction(store, await deadOf(store, 'c-1'), 'retry', { waitSeconds: 20 });
        expect(again.outcome).toBe('failed');
        expect(again.request).toMatchObject({ handled: 0, remaining: 3, error: 'c-1 is broken', errorCode: 'BROKEN' });
        const letters = (await allDeadLetters(store)).filter((l) => l.streamId === 'c-1');
        expect(letters.map((l) => [l.status, l.attempts])).toEqual([
          ['dead', 2],
          ['parked', 0],
          ['parked', 0],
        ]);
      } finally {
        await sub.stop();
      }
    });

    it('leaves a request pending while no owner runs; the owner carries it out when it starts', async () => {
      const store = await on.open();
      const broken = new Set(['p-1']);
      const handled: string[] = [];
      const first = failing(store, broken, handled);
      await first.start();
      await store.append('p-1', [ev('One'), ev('Two')]);
      await eventually(async () => (await allDeadLetters(store)).some((l) => l.status === 'dead'));
      await first.stop();
      broken.clear();

      const id = await deadOf(store, 'p-1');
      const asked = await requestDeadLetterAction(store, id, 'retry', { waitSeconds: 0 });
      expect(asked.outcome).toBe('pending');
      // Asked twice before it is done: one request, not two retries.
      const twice = await requestDeadLetterAction(store, id, 'retry', { waitSeconds: 0 });
      expect(twice.request.id).toBe(asked.request.id);

      const second = failing(store, broken, handled);
      await second.start();
      try {
        const done: Awaited<ReturnType<typeof requestDeadLetterAction>> | Error = await requestDeadLetterAction(store, id, 'retry', { waitSeconds: 20 }).catch((e: Error) => e);
        // Either the owner finished before this third ask (the letter is gone) or this ask waited for it.
        if (done instanceof Error) expect(done).toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
        else expect(done.outcome).toBe('succeeded');
        await eventually(() => handled.length === 2);
        expect(handled).toEqual(['p-1@1', 'p-1@2']);
        expect(await allDeadLetters(store)).toEqual([]);
      } finally {
        await second.stop();
      }
    });

    it('on a partitioned subscription, the dead letters of every partition are retried through requests', async () => {
      const store = await on.open();
      const broken = new Set(['q-1', 'q-2', 'q-3', 'q-4']);
      const handled: string[] = [];
      const subs = new PartitionedSubscription(store, {
        name: 'requests-parts',
        partitions: 3,
        pollIntervalMs: 100,
        retry: { immediateRetries: 0, backoffRetries: 0 },
        handler: (event) => {
          if (broken.has(event.streamId)) throw new Error(`${event.streamId} is broken`);
          handled.push(`${event.streamId}@${event.streamVersion}`);
        },
      });
      await subs.start();
      try {
        for (const s of broken) await store.append(s, [ev('One'), ev('Two')]);
        await eventually(async () => (await allDeadLetters(store)).filter((l) => l.status === 'dead').length === 4);
        broken.clear();
        for (const s of ['q-1', 'q-2', 'q-3', 'q-4']) {
          const done = await requestDeadLetterAction(store, await deadOf(store, s), 'retry', { waitSeconds: 20 });
          expect(done).toMatchObject({ outcome: 'succeeded', request: { handled: 2, remaining: 0 } });
        }
        expect(handled.sort()).toEqual(['q-1@1', 'q-1@2', 'q-2@1', 'q-2@2', 'q-3@1', 'q-3@2', 'q-4@1', 'q-4@2']);
        expect(await allDeadLetters(store)).toEqual([]);
      } finally {
        await subs.stop();
      }
    });

    it('refuses what an operator cannot act on: an unknown id, a parked event', async () => {
      const store = await on.open();
      const sub = failing(store, new Set(['x-1']), []);
      await sub.start();
      try {
        await store.append('x-1', [ev('One'), ev('Two')]);
        await eventually(async () => (await allDeadLetters(store)).length === 2);
        const parked = (await allDeadLetters(store)).find((l) => l.status === 'parked')!;
        expect(await caught(requestDeadLetterAction(store, parked.id, 'skip'))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/is parked/) });
        expect(await caught(requestDeadLetterAction(store, '999999', 'retry'))).toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
        expect(await caught(requestDeadLetterAction(store, 'abc', 'retry'))).toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
      } finally {
        await sub.stop();
      }
    });
  },
  { needs: ['sql'] },
);

it('says the memory store keeps retry and skip in code', async () => {
  expect(await caught(requestDeadLetterAction(new MemoryEventStore(), '1', 'retry'))).toMatchObject({ code: 'SQL_UNAVAILABLE' });
});
