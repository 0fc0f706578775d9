/**
 * Failure handling on every store: retries then the dead letter, sequenced dead letters (a
 * poison event parks its stream and only its stream), retry and skip from code, the inbox.
 */
import { afterEach, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { RecordedEvent } from '../../src/core/message.js';
import { Inbox } from '../../src/consumers/inbox.js';
import { Subscription } from '../../src/consumers/subscription.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { caught, ev } from './helpers.js';
import { sqlAccess } from '../../src/store/sql-access.js';

export function failureSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('failure handling', (under) => {
    let store: EventStore;
    const running: Subscription[] = [];
    afterEach(async () => {
      for (const sub of running.splice(0)) await sub.stop();
    });

    /** A subscription whose handler fails for events marked poison while `poisoned` says so. */
    const poisonable = async (name: string, attempts: Map<string, number>, poisoned: { on: boolean }) => {
      // Each event is counted once here, so a handler run twice would show as a missing retry, not a duplicate.
      const handled: RecordedEvent[] = [];
      const ids = new Set<string>();
      const sub = new Subscription(store, {
        name,
        batchSize: 4,
        retry: { immediateRetries: 1, backoffRetries: 2, initialDelayMs: 1, maxDelayMs: 5 },
        handler: (event) => {
          if ((event.data as { poison?: boolean }).poison && poisoned.on) {
            attempts.set(event.id, (attempts.get(event.id) ?? 0) + 1);
            throw new Error(`cannot handle ${event.id}`);
          }
          if (!ids.has(event.id)) handled.push(event);
          ids.add(event.id);
        },
      });
      running.push(sub);
      await sub.start();
      return { sub, handled };
    };

    it('retries, dead-letters a poison event, parks its stream behind it and lets every other stream flow', async () => {
      store = await under.open();
      const attempts = new Map<string, number>();
      const poisoned = { on: true };
      await store.append('s-1', [ev('E', { n: 1 }), ev('E', { n: 2, poison: true }), ev('E', { n: 3 })]);
      await store.append('s-2', [ev('E', { n: 1 }), ev('E', { n: 2 })]);
      await store.append('s-1', [ev('E', { n: 4 })]);
      const last = await store.append('s-3', [ev('E', { n: 1 })]);
      const { sub, handled } = await poisonable('sequenced', attempts, poisoned);
      await sub.waitFor(last.lastPosition, { timeoutMs: 20_000 });

      // 1 delivery + 1 immediate retry + 2 backoff retries.
      expect([...attempts.values()]).toEqual([4]);
      expect(handled.map((e) => `${e.streamId}/${(e.data as { n: number }).n}`)).toEqual(['s-1/1', 's-2/1', 's-2/2', 's-3/1']);
      const letters = await sub.deadLetters();
      expect(letters.map((d) => [d.status, d.streamId, (d.event.data as { n: number }).n])).toEqual([
        ['dead', 's-1', 2],
        ['parked', 's-1', 3],
        ['parked', 's-1', 4],
      ]);
      const dead = letters[0]!;
      expect(dead.attempts).toBe(4);
      expect(dead.error).toContain('cannot handle');
      expect(dead.firstFailedAt).toBeInstanceOf(Date);
      expect(dead.lastFailedAt!.getTime()).toBeGreaterThanOrEqual(dead.firstFailedAt!.getTime());

      // Later events of s-1 keep parking; s-2 keeps flowing.
      const more = await store.append('s-1', [ev('E', { n: 5 })]);
      const other = await store.append('s-2', [ev('E', { n: 3 })]);
      await sub.waitFor(other.lastPosition > more.lastPosition ? other.lastPosition : more.lastPosition);
      expect(handled.map((e) => `${e.streamId}/${(e.data as { n: number }).n}`).slice(4)).toEqual(['s-2/3']);

      // Still failing: the retry leaves everything in place.
      const failedAgain = await sub.retryDeadLetter(dead.id);
      expect(failedAgain).toEqual({ handled: 0, remaining: 4 });
      expect((await sub.deadLetters({ status: 'dead' }))[0]!.attempts).toBe(5);

      // Fixed: the retry drains the dead letter and then the parked events, in order.
      poisoned.on = false;
      expect(await sub.retryDeadLetter(dead.id)).toEqual({ handled: 4, remaining: 0 });
      expect(handled.slice(5).map((e) => (e.data as { n: number }).n)).toEqual([2, 3, 4, 5]);
      expect(await sub.deadLetters()).toEqual([]);

      // The stream flows again, live.
      const after = await store.append('s-1', [ev('E', { n: 6 })]);
      await sub.waitFor(after.lastPosition);
      expect(handled.at(-1)!.data).toEqual({ n: 6 });
    });

    it('skips a dead letter from code, then drains the parked events; a restart keeps the parking', async () => {
      store = await under.open();
      const attempts = new Map<string, number>();
      const poisoned = { on: true };
      await store.append('p-1', [ev('E', { n: 1, poison: true }), ev('E', { n: 2 })]);
      const last = await store.append('q-1', [ev('E', { n: 1 })]);
      const first = await poisonable('skipper', attempts, poisoned);
      await first.sub.waitFor(last.lastPosition, { timeoutMs: 20_000 });
      await first.sub.stop();
      running.splice(running.indexOf(first.sub), 1);

      // A restarted subscription still parks p-1 behind its dead letter.
      const next = await store.append('p-1', [ev('E', { n: 3 })]);
      const second = await poisonable('skipper', attempts, poisoned);
      await second.sub.waitFor(next.lastPosition);
      expect(second.handled).toEqual([]);
      const letters = await second.sub.deadLetters();
      expect(letters.map((d) => d.status)).toEqual(['dead', 'parked', 'parked']);

      expect((await caught(second.sub.skipDeadLetter(letters[1]!.id))).code).toBe('DEAD_LETTER_NOT_FOUND');
      expect(await second.sub.skipDeadLetter(letters[0]!.id)).toEqual({ handled: 2, remaining: 0 });
      expect(second.handled.map((e) => (e.data as { n: number }).n)).toEqual([2, 3]);
    });

    it('runs handlers outside a transaction when asked: a handler may append to the store (even on PGlite)', async () => {
      store = await under.open();
      let failOnce = true;
      const sub = new Subscription(store, {
        name: 'reactor',
        transactional: false,
        filter: { types: ['OrderPlaced'] },
        retry: { immediateRetries: 1, backoffRetries: 0 },
        handler: async (event, ctx) => {
          expect(ctx.sql).toBeUndefined();
          if ((event.data as { poison?: boolean }).poison) throw new Error('poison');
          if (failOnce && event.streamId === 'order-2') {
            failOnce = false;
            throw new Error('flaky once');
          }
          // A reaction: a new event, with an id derived from the cause so a redelivery appends nothing new.
          const id = `0190a0a0-0000-7000-8000-${event.id.replace(/-/g, '').slice(-12)}`;
          await store.append(`shipment-${event.streamId}`, [{ id, type: 'ShipmentRequested', data: {} }]);
        },
      });
      running.push(sub);
      await sub.start();
      await store.append('order-1', [ev('OrderPlaced')]);
      await store.append('order-2', [ev('OrderPlaced')]);
      const last = await store.append('order-3', [ev('OrderPlaced', { poison: true }), ev('OrderPlaced')]);
      await sub.waitFor(last.lastPosition, { timeoutMs: 20_000 });
      expect((await store.streamInfo('shipment-order-1')).version).toBe(1);
      expect((await store.streamInfo('shipment-order-2')).version).toBe(1);
      expect((await sub.deadLetters()).map((d) => d.status)).toEqual(['dead', 'parked']);
    });

    it('the inbox stops a duplicate delivery, alone and inside a subscription', async () => {
      store = await under.open();
      const sql = sqlAccess(store);
      if (sql) await sql.client.query(`CREATE TABLE ${sql.names.s}effects (message_id text)`);
      const effects: string[] = [];
      const inbox = new Inbox(store, 'mailer');
      const effect = (id: string) => async (tx: { query: (q: string, p: unknown[]) => Promise<unknown> } | undefined) => {
        effects.push(id);
        if (tx) await tx.query(`INSERT INTO ${sql!.names.s}effects VALUES ($1)`, [id]);
        return id;
      };
      expect(await inbox.handle('m-1', effect('m-1'))).toEqual({ duplicate: false, result: 'm-1' });
      expect(await inbox.handle('m-1', effect('m-1'))).toEqual({ duplicate: true });
      // Two deliveries at the same moment: one effect.
      const both = await Promise.all([inbox.handle('m-2', effect('m-2')), inbox.handle('m-2', effect('m-2'))]);
      expect(both.filter((o) => o.duplicate)).toHaveLength(1);
      expect(await inbox.has('m-2')).toBe(true);
      expect(await new Inbox(store, 'other-consumer').has('m-2')).toBe(false);
      // A failed effect records nothing: the redelivery runs it.
      await expect(inbox.handle('m-3', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
      expect(await inbox.handle('m-3', effect('m-3'))).toEqual({ duplicate: false, result: 'm-3' });
      expect(effects).toEqual(['m-1', 'm-2', 'm-3']);
      if (sql) {
        const { rows } = await sql.client.query<{ message_id: string }>(`SELECT message_id FROM ${sql.names.s}effects ORDER BY 1`);
        expect(rows.map((r) => r.message_id)).toEqual(['m-1', 'm-2', 'm-3']);
      }

      // A subscription with `inbox: true` whose checkpoint was lost (redelivery of everything)
      // does not apply the events again.
      const seen: string[] = [];
      const { lastPosition } = await store.append('i-1', [ev('E'), ev('E')]);
      const sub1 = new Subscription(store, { name: 'inboxed', inbox: true, handler: (e) => void seen.push(e.id) });
      await sub1.start();
      await sub1.waitFor(lastPosition);
      await sub1.stop();
      const sub2 = new Subscription(store, { name: 'inboxed', inbox: true, checkpointName: 'inboxed-lost-checkpoint', handler: (e) => void seen.push(e.id) });
      running.push(sub2);
      await sub2.start();
      await sub2.waitFor(lastPosition);
      expect(seen).toHaveLength(2);
    });
  }, { stores });
}
