/**
 * The failure paths of a subscription on every store: a failing event re-runs nothing before
 * it, its retries hold up no other stream, an event that cannot be upcast is dead-lettered,
 * `stop()` returns after the event in hand, every failed attempt reaches `onError`, and a dead
 * letter keeps the message, code and stack of its error apart.
 */
import { afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { FactumError } from '../../src/core/errors.js';
import type { EventStore } from '../../src/core/event-store.js';
import type { RecordedEvent } from '../../src/core/message.js';
import { consumerStorageFor } from '../../src/consumers/consumer-storage.js';
import { Subscription, type SubscriptionOptions } from '../../src/consumers/subscription.js';
import { EventRegistry } from '../../src/schema/event-registry.js';
import { defineEvent } from '../../src/schema/event-type.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { ev, eventually, sleep } from './helpers.js';
import { sqlAccess } from '../../src/store/sql-access.js';

export function failurePathsSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('failure paths', (under) => {
    let store: EventStore;
    const running: Subscription[] = [];
    afterEach(async () => {
      for (const sub of running.splice(0)) await sub.stop();
    });
    const start = async (options: SubscriptionOptions, on: EventStore = store) => {
      const sub = new Subscription(on, options);
      running.push(sub);
      await sub.start();
      return sub;
    };
    const n = (e: RecordedEvent) => `${e.streamId}/${(e.data as { n?: number }).n ?? '-'}`;

    it("the README's mailer: an event failing after others in its batch re-runs none of them, and they commit before its retry", async () => {
      store = await under.open();
      const sql = sqlAccess(store);
      if (sql) await sql.client.query(`CREATE TABLE ${sql.names.s}sent (order_id text NOT NULL)`);
      const storage = consumerStorageFor(store);
      await store.append('order-1', [ev('OrderPlaced')]);
      await store.append('order-2', [ev('OrderPlaced')]);
      const last = await store.append('order-3', [ev('OrderPlaced')]);
      const first = (await store.readAllPage({ limit: 1 })).events[0]!;
      const emails: string[] = [];
      const seenBeforeRetry: boolean[] = [];
      const sub = await start({
        name: 'order-emails',
        filter: { types: ['OrderPlaced'] },
        inbox: true,
        retry: { immediateRetries: 1, backoffRetries: 0 },
        handler: async (event, ctx) => {
          emails.push(`${event.streamId} attempt ${ctx.attempt}`);
          if (ctx.sql) await ctx.sql.query(`INSERT INTO ${sql!.names.s}sent VALUES ($1)`, [event.streamId]);
          if (event.streamId !== 'order-2') return;
          if (ctx.attempt > 1) {
            // Before the retry runs, order-1's inbox row has committed (read through the
            // handler's transaction: on PGlite the store's one session is this transaction's).
            const committed = ctx.sql
              ? (await ctx.sql.query(`SELECT 1 FROM ${sql!.names.s}inbox WHERE consumer = 'order-emails' AND message_id = $1`, [first.id])).rows.length === 1
              : await storage.hasInbox('order-emails', first.id);
            seenBeforeRetry.push(committed);
          }
          throw new Error('smtp refused order-2');
        },
      });
      await sub.waitFor(last.lastPosition, { timeoutMs: 20_000 });
      expect(emails).toEqual(['order-1 attempt 1', 'order-2 attempt 1', 'order-3 attempt 1', 'order-2 attempt 2']);
      expect(seenBeforeRetry).toEqual([true]);
      if (sql) {
        const { rows } = await sql.client.query<{ order_id: string }>(`SELECT order_id FROM ${sql.names.s}sent ORDER BY order_id`);
        expect(rows.map((r) => r.order_id)).toEqual(['order-1', 'order-3']);
      }
      expect((await sub.deadLetters()).map((d) => [d.status, d.streamId, d.attempts])).toEqual([['dead', 'order-2', 2]]);
    });

    it("a retry of one stream's event holds up that stream only: the others flow while it waits", async () => {
      store = await under.open();
      const poisoned = { on: true };
      const handled: string[] = [];
      let attempts = 0;
      let attemptsWhenOtherStreamRan: number | undefined;
      await store.append('a-1', [ev('E', { n: 1, poison: true }), ev('E', { n: 2 })]);
      await store.append('b-1', [ev('E', { n: 1 })]);
      const sub = await start({
        name: 'patient',
        // Three 1-second retries: before the fix, b-1 waited for all three.
        retry: { immediateRetries: 0, backoffRetries: 3, initialDelayMs: 1000, factor: 1, jitter: 0 },
        handler: (event) => {
          if ((event.data as { poison?: boolean }).poison && poisoned.on) {
            attempts++;
            throw new Error('not yet');
          }
          if (event.streamId === 'b-1') attemptsWhenOtherStreamRan = attempts;
          handled.push(n(event));
        },
      });
      await eventually(() => handled.includes('b-1/1'), 20_000, 'b-1 handled');
      // b-1 ran after the first failure, before any retry: no retry wait stood in its way.
      expect(attemptsWhenOtherStreamRan).toBe(1);
      expect(handled).toEqual(['b-1/1']);
      // b-1's handler has run; the batch's transaction (with a-1's letters) may still be committing.
      await eventually(async () => (await sub.deadLetters()).length === 2, 20_000, "a-1's letters committed");
      expect((await sub.deadLetters()).map((d) => [d.status, n(d.event)])).toEqual([
        ['retrying', 'a-1/1'],
        ['parked', 'a-1/2'],
      ]);
      expect(sub.status().blockedStreams).toEqual(['a-1']);
      // While a-1 waits, waitFor does not count its events as handled.
      expect(sub.status().position).toBeLessThan((await store.headPosition()));
      const live = await store.append('b-2', [ev('E', { n: 1 })]);
      await eventually(() => handled.includes('b-2/1'), 20_000, 'b-2 handled live');
      poisoned.on = false;
      await sub.waitFor(live.lastPosition, { timeoutMs: 20_000 });
      expect(handled).toEqual(['b-1/1', 'b-2/1', 'a-1/1', 'a-1/2']);
      expect(await sub.deadLetters()).toEqual([]);
      expect(sub.status().blockedStreams).toEqual([]);
    });

    it('an event that cannot be upcast is dead-lettered with its error, its stream parked, the others flowing', async () => {
      const raw = await under.open();
      const Thing = defineEvent('Thing', z.object({ n: z.number() })).withVersion(2, z.object({ n: z.number(), label: z.string() }), (v1: { n: number; bad?: boolean }) => {
        if (v1.bad) throw new Error('no label for a bad thing');
        return { n: v1.n, label: `#${v1.n}` };
      });
      store = new EventRegistry([Thing]).wrap(raw);
      await raw.append('t-1', [{ type: 'Thing', schemaVersion: 1, data: { n: 1, bad: true } }]); // the upcaster throws
      await raw.append('t-2', [{ type: 'Thing', schemaVersion: 7, data: { n: 1 } }]); // newer than this code
      await raw.append('t-1', [{ type: 'Thing', schemaVersion: 1, data: { n: 2 } }]);
      const last = await raw.append('t-3', [{ type: 'Thing', schemaVersion: 1, data: { n: 1 } }]);
      const handled: RecordedEvent[] = [];
      const sub = await start({ name: 'things', handler: (event) => void handled.push(event) });
      await sub.waitFor(last.lastPosition, { timeoutMs: 20_000 });
      expect(handled.map((e) => [n(e), e.schemaVersion, (e.data as { label: string }).label])).toEqual([['t-3/1', 2, '#1']]);
      const letters = await sub.deadLetters();
      expect(letters.map((d) => [d.status, n(d.event), d.errorCode ?? null])).toEqual([
        ['dead', 't-1/1', 'UPCAST_FAILED'],
        ['dead', 't-2/1', 'UPCAST_FAILED'],
        ['parked', 't-1/2', null],
      ]);
      expect(letters[0]!.error).toContain('no label for a bad thing');
      expect(letters[1]!.error).toContain('stored at version 7');
      const status = sub.status();
      expect(status.state).toBe('running');
      expect(status.blockedStreams).toEqual(['t-1', 't-2']);
      expect(status.lastFailure).toMatchObject({ code: 'UPCAST_FAILED', status: 'dead' });
      // Skipping the one that cannot be upcast lets its stream go on, upcast.
      expect(await sub.skipDeadLetter(letters[0]!.id)).toEqual({ handled: 1, remaining: 0 });
      expect(handled.map(n)).toEqual(['t-3/1', 't-1/2']);
      expect(handled[1]!.schemaVersion).toBe(2);
    });

    it('stop() commits what was handled and returns after the event in hand, not the rest of the batch', async () => {
      store = await under.open();
      const events = Array.from({ length: 20 }, (_, i) => ev('E', { n: i + 1 }));
      await store.append('slow-1', events);
      const handled: number[] = [];
      const options: SubscriptionOptions = {
        name: 'slow',
        inbox: true,
        handler: async (event) => {
          handled.push((event.data as { n: number }).n);
          await sleep(50);
        },
      };
      const sub = await start(options);
      await eventually(() => handled.length >= 3, 20_000, 'three events handled');
      const stopCalled = handled.length;
      await sub.stop();
      running.splice(running.indexOf(sub), 1);
      // At most the event that was in the handler when stop() was called.
      expect(handled.length - stopCalled).toBeLessThanOrEqual(1);
      const checkpoint = await consumerStorageFor(store).readCheckpoint('slow');
      const all = await store.loadStream('slow-1');
      expect(checkpoint!.position).toBe(all.events[handled.length - 1]!.globalPosition);
      // A restart takes it from there: every event once.
      const again = await start(options);
      await again.waitFor(all.events.at(-1)!.globalPosition, { timeoutMs: 20_000 });
      expect(handled).toEqual(events.map((_, i) => i + 1));
    });

    it('a second instance with standby waits in standby, handles nothing, and takes over when the first stops', async () => {
      store = await under.open();
      const byInstance: Record<string, string[]> = { first: [], second: [] };
      const options = (who: 'first' | 'second'): SubscriptionOptions => ({ name: 'single', standby: true, leaseMs: 600, inbox: true, handler: (e) => void byInstance[who]!.push(n(e)) });
      const first = await start(options('first'));
      const second = await start(options('second'));
      expect([first.status().state, second.status().state]).toEqual(['running', 'standby']);
      const r1 = await store.append('s-1', [ev('E', { n: 1 }), ev('E', { n: 2 })]);
      await first.waitFor(r1.lastPosition, { timeoutMs: 20_000 });
      // Several lease periods later the standby still has handled nothing.
      await sleep(1500);
      expect(second.status().state).toBe('standby');
      await first.stop();
      running.splice(running.indexOf(first), 1);
      const r2 = await store.append('s-1', [ev('E', { n: 3 })]);
      await second.waitFor(r2.lastPosition, { timeoutMs: 20_000 });
      expect(second.status().state).toBe('running');
      expect(byInstance).toEqual({ first: ['s-1/1', 's-1/2'], second: ['s-1/3'] });
    });

    it('onError hears every failed attempt, the first one included, and a dead letter keeps message, code and stack apart', async () => {
      store = await under.open();
      const heard: Array<{ message: string; streamId?: string }> = [];
      const last = await store.append('p-1', [ev('E', { n: 1 })]);
      const sub = await start({
        name: 'heard',
        retry: { immediateRetries: 2, backoffRetries: 0 },
        onError: (error, event) => heard.push({ message: (error as Error).message, ...(event ? { streamId: event.streamId } : {}) }),
        handler: () => {
          throw new FactumError('INVALID_ARGUMENT', 'the payment service refused p-1');
        },
      });
      await sub.waitFor(last.lastPosition, { timeoutMs: 20_000 });
      expect(heard).toEqual(Array.from({ length: 3 }, () => ({ message: 'the payment service refused p-1', streamId: 'p-1' })));
      const [dead] = await sub.deadLetters();
      expect(dead).toMatchObject({ status: 'dead', attempts: 3, error: 'the payment service refused p-1', errorCode: 'INVALID_ARGUMENT' });
      expect(dead!.errorStack).toMatch(/^FactumError: the payment service refused p-1\n\s+at /);
      expect(sub.status().lastFailure).toMatchObject({ streamId: 'p-1', status: 'dead', error: 'the payment service refused p-1', code: 'INVALID_ARGUMENT' });
    });
  }, { stores });
}
