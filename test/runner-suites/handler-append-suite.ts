/**
 * A handler's appends (`context.append`, `context.store`) on every store: they commit with the
 * checkpoint (and the handler's rows), a throw after an append undoes it, a reaction chain sees
 * each event once, `handleCommand(context.store, ...)` sees the transaction's own appends, and
 * outside transactions deterministic ids make a repeated append idempotent.
 */
import { afterEach, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { Subscription, type SubscriptionOptions } from '../../src/consumers/subscription.js';
import { handleCommand } from '../../src/domain/handle-command.js';
import type { Decider } from '../../src/domain/decider.js';
import { z } from 'zod';
import { EventRegistry } from '../../src/schema/event-registry.js';
import { defineEvent } from '../../src/schema/event-type.js';
import { defineProjection } from '../../src/projections/projection.js';
import { InlineProjections } from '../../src/projections/inline-projections.js';
import type { BaseEventStore } from '../../src/store/base-event-store.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { ev, eventually } from './helpers.js';
import { sqlAccess } from '../../src/store/sql-access.js';

const events = async (store: EventStore, streamId: string) => (await store.loadStream(streamId)).events;

/** Counts commands on one stream: each `Count` decides one `Counted` with the next number. */
const counter: Decider<number, { type: 'Count'; data: { from: string } }, { type: 'Counted'; data: { n: number; from: string } }> = {
  initialState: () => 0,
  evolve: (n) => n + 1,
  decide: (command, n) => [{ type: 'Counted', data: { n: n + 1, from: command.data.from } }],
};

export function handlerAppendSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('handler appends', (under) => {
    let store: EventStore;
    const running: Subscription[] = [];

    afterEach(async () => {
      for (const sub of running.splice(0)) await sub.stop();
    });

    const start = async (options: SubscriptionOptions) => {
      const sub = new Subscription(store, options);
      running.push(sub);
      return sub.start();
    };

    it('commits the appended events with the checkpoint (and the rows): a reader never sees one without the other', async () => {
      store = await under.open();
      const sql = sqlAccess(store);
      if (sql) await sql.client.query(`CREATE TABLE ${sql.names.s}acks (order_id text PRIMARY KEY)`);
      let reached!: () => void;
      const atGate = new Promise<void>((resolve) => (reached = resolve));
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const sub = await start({
        name: 'acks',
        inbox: true,
        filter: { types: ['OrderPlaced'] },
        handler: async (event, context) => {
          await context.append(`ack-${event.streamId}`, [ev('OrderAcknowledged')], { expectedVersion: 'no_stream' });
          if (context.sql) await context.sql.query(`INSERT INTO ${sql!.names.s}acks VALUES ($1)`, [event.streamId]);
          reached();
          await gate;
        },
      });
      const placed = await store.append('order-1', [ev('OrderPlaced')]);
      // The in-process wake-up: told of the handler's append only once it committed.
      const told: bigint[] = [];
      (store as BaseEventStore).onAppended((result) => void told.push(result.lastPosition));
      await atGate;
      expect(told).toEqual([]);
      const midway = events(store, 'ack-order-1');
      const positionMidway = sub.status().position;
      // PGlite is one session: its read waits behind the handler's transaction and sees the commit.
      // Memory and PostgreSQL answer while the handler waits: nothing of it is visible yet.
      if (store.kind === 'pglite') {
        open();
        expect((await midway).length).toBe(1);
      } else {
        expect((await midway).length).toBe(0);
        open();
      }
      await sub.waitFor(placed.lastPosition);
      expect(positionMidway).toBeLessThan(placed.lastPosition);
      await eventually(() => told.length === 1, 5000, 'the wake-up after the commit');
      const acks = await events(store, 'ack-order-1');
      expect(acks.map((e) => e.type)).toEqual(['OrderAcknowledged']);
      if (sql) expect((await sql.client.query(`SELECT order_id FROM ${sql.names.s}acks`)).rows).toEqual([{ order_id: 'order-1' }]);
    });

    it('undoes the appends of a handler that throws after them; its retry appends once, the events before it commit', async () => {
      store = await under.open();
      const failures: unknown[] = [];
      // What each attempt's `committed` said (and, once committed, how many echoes were readable).
      const outcomes: string[] = [];
      const sub = await start({
        name: 'fails-once',
        inbox: true,
        filter: { types: ['Happened'] },
        retry: { immediateRetries: 1, backoffRetries: 0 },
        onError: (error) => failures.push(error),
        handler: async (event, context) => {
          await context.append(`echo-${event.streamId}`, [ev('Echoed', { attempt: context.attempt })]);
          void context.committed.then(async (committed) => {
            // Committed: its echo is readable by now. (A rolled-back one's retry may already be under way.)
            outcomes.push(`${event.streamId}/${context.attempt}: ${committed ? `committed, ${(await events(store, `echo-${event.streamId}`)).length}` : 'rolled back'}`);
          });
          if (event.streamId === 'b-1' && context.attempt === 1) throw new Error('after the append');
        },
      });
      await store.append('a-1', [ev('Happened')]);
      const last = await store.append('b-1', [ev('Happened')]);
      await sub.waitFor(last.lastPosition);
      expect(failures).toHaveLength(1);
      expect((await events(store, 'echo-a-1')).map((e) => e.data)).toEqual([{ attempt: 1 }]);
      expect((await events(store, 'echo-b-1')).map((e) => e.data)).toEqual([{ attempt: 2 }]);
      expect(await sub.deadLetters()).toEqual([]);
      await eventually(() => outcomes.length === 3, 5000, 'three outcomes');
      expect(outcomes.sort()).toEqual(['a-1/1: committed, 1', 'b-1/1: rolled back', 'b-1/2: committed, 1']);
    });

    it('runs a reaction chain: what one handler appends, a second subscription handles once, woken after the commit', async () => {
      store = await under.open();
      const charged: string[] = [];
      await start({
        name: 'payments',
        inbox: true,
        filter: { types: ['OrderPlaced'] },
        handler: async (event, context) => {
          await context.append(`payment-${event.streamId}`, [ev('PaymentRequested', { order: event.streamId })], { expectedVersion: 'no_stream' });
        },
      });
      const charger = await start({
        name: 'charger',
        inbox: true,
        // Polling once an hour: only the wake-up after each commit delivers within the test.
        pollIntervalMs: 3_600_000,
        filter: { types: ['PaymentRequested'] },
        handler: (event) => void charged.push(String((event.data as { order: string }).order)),
      });
      const orders = Array.from({ length: 12 }, (_, i) => `order-${i}`);
      for (const order of orders) await store.append(order, [ev('OrderPlaced')]);
      for (;;) {
        await charger.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
        if (charged.length >= orders.length) break;
      }
      expect(charged.sort()).toEqual([...orders].sort());
      for (const order of orders) expect((await events(store, `payment-${order}`)).length).toBe(1);
    });

    it('lets handleCommand(context.store) run in the handler\'s transaction: one page\'s commands on one stream see each other', async () => {
      store = await under.open();
      const failures: unknown[] = [];
      let last = 0n;
      for (let i = 0; i < 5; i++) last = (await store.append(`order-${i}`, [ev('OrderPlaced')])).lastPosition;
      const sub = await start({
        name: 'tally',
        inbox: true,
        onError: (error) => failures.push(error),
        filter: { types: ['OrderPlaced'] },
        handler: async (event, context) => {
          await handleCommand(context.store, 'tally', { type: 'Count', data: { from: event.streamId } }, counter, { retry: { backoffRetries: 0 } });
        },
      });
      await sub.waitFor(last);
      expect(failures).toEqual([]);
      expect((await events(store, 'tally')).map((e) => e.data)).toEqual([0, 1, 2, 3, 4].map((i) => ({ n: i + 1, from: `order-${i}` })));
    });

    it('validates a handler\'s appends against the registry and runs inline projections on them, in its transaction', async () => {
      const registry = new EventRegistry([defineEvent('Acked', z.object({ n: z.number() }))]);
      store = registry.wrap(await under.open());
      const sql = sqlAccess(store);
      const projected: number[] = [];
      const acks = defineProjection({
        name: 'acks',
        tables: { acks: (t) => `CREATE TABLE ${t} (n integer PRIMARY KEY)` },
        handlers: {
          Acked: (e, ctx) => {
            const n = (e.data as { n: number }).n;
            if (!ctx.sql) return void projected.push(n);
            return ctx.sql.query(`INSERT INTO ${ctx.table('acks')} VALUES ($1)`, [n]).then(() => undefined);
          },
        },
      });
      await new InlineProjections(store, [acks]).start();
      const failures: unknown[] = [];
      const sub = await start({
        name: 'acker',
        filter: { types: ['Placed'] },
        retry: { immediateRetries: 0, backoffRetries: 0 },
        onError: (error) => failures.push(error),
        handler: async (event, context) => {
          await context.append(`ack-${event.streamId}`, [{ type: 'Acked', data: { n: (event.data as { n: unknown }).n } }]);
        },
      });
      await store.append('good-1', [ev('Placed', { n: 1 })]);
      const last = await store.append('bad-1', [ev('Placed', { n: 'one' })]);
      await sub.waitFor(last.lastPosition - 1n);
      await eventually(async () => (await sub.deadLetters({ status: 'dead' })).length === 1, 20_000, 'the bad event dead-lettered');
      expect(failures.map((e) => (e as { code?: string }).code)).toEqual(['EVENT_SCHEMA_VIOLATION']);
      expect((await events(store, 'ack-good-1')).map((e) => e.data)).toEqual([{ n: 1 }]);
      expect(await events(store, 'ack-bad-1')).toEqual([]);
      const rows = sql ? (await sql.client.query<{ n: number }>(`SELECT n FROM ${sql.names.s}acks`)).rows.map((r) => r.n) : projected;
      expect(rows).toEqual([1]);
    });

    it('outside transactions appends at once, with ids derived from the handled event: a repeated append is absorbed', async () => {
      store = await under.open();
      const sub = await start({
        name: 'outside',
        transactional: false,
        filter: { types: ['Happened'] },
        retry: { immediateRetries: 1, backoffRetries: 0 },
        onError: () => {},
        handler: async (event, context) => {
          await context.append(`echo-${event.streamId}`, [ev('Echoed'), ev('Echoed')]);
          if (context.attempt === 1) throw new Error('after the append');
        },
      });
      const placed = await store.append('a-1', [ev('Happened')]);
      await sub.waitFor(placed.lastPosition);
      expect((await events(store, 'echo-a-1')).map((e) => e.type)).toEqual(['Echoed', 'Echoed']);
    });
  }, { stores });
}
