/**
 * Subscriptions on every store: resume after restart, start positions, filters, one stream,
 * the catch-up to live switch under concurrent appends, compare-and-set checkpoints, lag.
 */
import { afterEach, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { RecordedEvent } from '../../src/core/message.js';
import { isCheckpointConflict } from '../../src/core/errors.js';
import { Subscription, type SubscriptionOptions } from '../../src/consumers/subscription.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { caught, ev, eventually } from './helpers.js';
import { sqlAccess } from '../../src/store/sql-access.js';

export function subscriptionSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('subscriptions', (under) => {
    let store: EventStore;
    const running: Subscription[] = [];

    afterEach(async () => {
      for (const sub of running.splice(0)) await sub.stop();
    });

    const start = async (options: Omit<SubscriptionOptions, 'handler'> & { handler?: SubscriptionOptions['handler'] }) => {
      const seen: RecordedEvent[] = [];
      const sub = new Subscription(store, { handler: (e) => void seen.push(e), ...options });
      running.push(sub);
      await sub.start();
      return { sub, seen };
    };
    const stop = async (sub: Subscription) => {
      await sub.stop();
      running.splice(running.indexOf(sub), 1);
    };

    it('catches up, goes live, and resumes after a restart where it left off', async () => {
      store = await under.open();
      await store.append('order-1', [ev('OrderPlaced'), ev('OrderPaid')]);
      const first = await start({ name: 'orders' });
      const r1 = await store.append('order-2', [ev('OrderPlaced')]);
      await first.sub.waitFor(r1.lastPosition);
      expect(first.seen.map((e) => e.streamId)).toEqual(['order-1', 'order-1', 'order-2']);
      await stop(first.sub);

      const r2 = await store.append('order-3', [ev('OrderPlaced'), ev('OrderShipped')]);
      const second = await start({ name: 'orders' });
      await second.sub.waitFor(r2.lastPosition);
      expect(second.seen.map((e) => e.streamId)).toEqual(['order-3', 'order-3']);
      expect(second.sub.status()).toMatchObject({ state: 'running', position: r2.lastPosition, caughtUp: true, lagEvents: 0n });
    });

    it('starts from the end, or after a given position, when no checkpoint is stored', async () => {
      store = await under.open();
      const old = await store.append('a-1', [ev('A'), ev('A'), ev('A')]);
      const fromEnd = await start({ name: 'from-end', from: 'end' });
      const fromPos = await start({ name: 'from-pos', from: { after: old.positions[1]! } });
      const fresh = await store.append('a-2', [ev('A')]);
      await fromEnd.sub.waitFor(fresh.lastPosition);
      await fromPos.sub.waitFor(fresh.lastPosition);
      expect(fromEnd.seen.map((e) => e.globalPosition)).toEqual([fresh.lastPosition]);
      expect(fromPos.seen.map((e) => e.globalPosition)).toEqual([old.positions[2], fresh.lastPosition]);
    });

    it('filters $all by event type and by category, and its checkpoint passes the skipped events', async () => {
      store = await under.open();
      await store.append('order-1', [ev('OrderPlaced'), ev('OrderPaid')]);
      await store.append('user-1', [ev('UserRegistered'), ev('OrderPlaced')]);
      const last = await store.append('order-2', [ev('OrderShipped')]);
      const byType = await start({ name: 'by-type', filter: { types: ['OrderPlaced'] } });
      const byCategory = await start({ name: 'by-category', filter: { categories: ['order'] } });
      await byType.sub.waitFor(last.lastPosition);
      await byCategory.sub.waitFor(last.lastPosition);
      expect(byType.seen.map((e) => `${e.streamId}:${e.type}`)).toEqual(['order-1:OrderPlaced', 'user-1:OrderPlaced']);
      expect(byCategory.seen.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderPaid', 'OrderShipped']);
      expect(byType.sub.status().position).toBe(last.lastPosition);
    });

    it('subscribes to one stream, checkpointed by stream version', async () => {
      store = await under.open();
      await store.append('cart-1', [ev('ItemAdded', { n: 1 })]);
      await store.append('cart-2', [ev('ItemAdded', { n: 99 })]);
      const one = await start({ name: 'cart-1-watch', stream: 'cart-1' });
      await store.append('cart-1', [ev('ItemAdded', { n: 2 })]);
      await one.sub.waitFor(2n);
      expect(one.seen.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
      await stop(one.sub);
      await store.append('cart-1', [ev('ItemRemoved')]);
      const again = await start({ name: 'cart-1-watch', stream: 'cart-1' });
      await again.sub.waitFor(3n);
      expect(again.seen.map((e) => e.streamVersion)).toEqual([3]);
    });

    it('switches from catch-up to live with no gap and no duplicate while writers append concurrently', async () => {
      store = await under.open();
      const writers = 4;
      const perWriter = 60;
      const appended: bigint[] = [];
      const write = async (w: number) => {
        for (let i = 0; i < perWriter; i++) appended.push((await store.append(`w${w}-${i % 5}`, [ev('Tick', { w, i })])).lastPosition);
      };
      // Half the events exist before the subscription starts; the rest race the switch to live.
      const firstHalf = Promise.all(Array.from({ length: writers }, (_, w) => write(w)));
      await eventually(() => appended.length >= (writers * perWriter) / 4, 30_000, 'a quarter of the appends');
      const { sub, seen } = await start({ name: 'switch', batchSize: 7 });
      await firstHalf;
      const max = appended.reduce((a, b) => (a > b ? a : b));
      await sub.waitFor(max, { timeoutMs: 30_000 });
      const positions = seen.map((e) => e.globalPosition);
      expect(new Set(positions).size).toBe(positions.length);
      expect(positions).toEqual([...appended].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      // Per-stream order holds.
      for (const stream of new Set(seen.map((e) => e.streamId))) {
        const versions = seen.filter((e) => e.streamId === stream).map((e) => e.streamVersion);
        expect(versions).toEqual(versions.map((_, i) => i + 1));
      }
    });

    it('lets only one of two instances of a subscription advance the checkpoint; the other stops', async () => {
      store = await under.open();
      const sql = sqlAccess(store);
      if (sql) await sql.client.query(`CREATE TABLE ${sql.names.s}applied (event_id text PRIMARY KEY, by_instance text)`);
      await store.append('x-1', [ev('X'), ev('X'), ev('X')]);
      const handler = (instance: string): SubscriptionOptions['handler'] => async (e, ctx) => {
        // Plain INSERT: a duplicate would fail loudly rather than hide.
        if (ctx.sql) await ctx.sql.query(`INSERT INTO ${sql!.names.s}applied VALUES ($1, $2)`, [e.id, instance]);
      };
      const a = new Subscription(store, { name: 'twin', handler: handler('a'), batchSize: 1 });
      const b = new Subscription(store, { name: 'twin', handler: handler('b'), batchSize: 1 });
      running.push(a, b);
      await Promise.all([a.start(), b.start()]);
      let last = 0n;
      for (let i = 0; i < 20; i++) last = (await store.append(`x-${i % 3}`, [ev('X')])).lastPosition;
      await eventually(() => a.status().state === 'failed' || b.status().state === 'failed', 30_000, 'one twin to lose');
      const [loser, winner] = a.status().state === 'failed' ? [a, b] : [b, a];
      expect(isCheckpointConflict(loser.status().error)).toBe(true);
      await winner.waitFor(last, { timeoutMs: 30_000 });
      expect(winner.status().state).toBe('running');
      if (sql) {
        const { rows } = await sql.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql.names.s}applied`);
        expect(Number(rows[0]!.n)).toBe(23);
      }
    });

    it('knows its lag in events and in seconds, and waitFor times out with a typed error', async () => {
      store = await under.open();
      const { sub } = await start({ name: 'lagging', filter: { types: ['Wanted'] } });
      await stop(sub);
      await store.append('l-1', [ev('Wanted'), ev('Wanted'), ev('Other')]);
      const lag = await sub.lag();
      expect(lag.events).toBe(3n);
      expect(lag.seconds).toBeGreaterThanOrEqual(0);
      expect(lag.headPosition).toBe(await store.headPosition());
      const timeout = await caught(sub.waitFor(lag.headPosition, { timeoutMs: 50 }));
      expect(timeout.code).toBe('WAIT_TIMEOUT');
    });
  }, { stores });
}
