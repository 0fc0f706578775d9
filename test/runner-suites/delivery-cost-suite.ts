/**
 * What a delivery costs in savepoints, counted from the statements of each transaction: a
 * projection's batch takes none (a failure rolls it back and re-runs the events before it, which
 * only wrote the read model), a subscription's handler takes one only when it uses `sql` or
 * appends (and the append is undone with it), and no transaction holds more than 64 (PostgreSQL's
 * cache of subtransaction ids per backend). SQL stores only: the memory store has no SQL to count.
 */
import { afterEach, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { consumerStorageFor } from '../../src/consumers/consumer-storage.js';
import { MAX_SAVEPOINTS_PER_TRANSACTION } from '../../src/consumers/deliver-in-transaction.js';
import { Subscription, type SubscriptionOptions } from '../../src/consumers/subscription.js';
import { ProjectionRunner } from '../../src/projections/projection-runner.js';
import { defineProjection } from '../../src/projections/projection.js';
import { sqlAccess } from '../../src/store/sql-access.js';
import { describeOnStores } from '../describe-on-stores.js';
import type { StoreFactory } from '../stores.js';
import { ev } from './helpers.js';
import { logTransactions, savepoints, savepointsPerTransaction } from './transaction-log.js';

const iOf = (event: { data: unknown }): number => (event.data as { i: number }).i;

export function deliveryCostSuite(stores: (factory: StoreFactory) => boolean): void {
  describeOnStores(
    'delivery cost',
    (on) => {
      const running: Array<{ stop(): Promise<void> }> = [];
      afterEach(async () => {
        for (const r of running.splice(0)) await r.stop();
      });
      const subscribe = async (store: EventStore, options: SubscriptionOptions) => {
        const sub = new Subscription(store, options);
        running.push(sub);
        return sub.start();
      };

      it('a projection whose handler fails at event k of a batch commits the events before it once in effect, reports the failure once, parks only its stream, and takes no savepoint', async () => {
        const store = await on.open();
        const sql = sqlAccess(store)!;
        // Fifteen events, streams s-0..s-4 in turn; the 7th (s-1's second) fails until fixed.
        for (let i = 0; i < 15; i++) await store.append(`s-${i % 5}`, [ev('Counted', { i })]);
        const calls: number[] = [];
        const broken = { on: true };
        const projection = defineProjection({
          name: 'counts-failing',
          tables: { counts: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` },
          handlers: {
            Counted: async (event, { sql: tx, table }) => {
              calls.push(iOf(event));
              await tx!.query(`INSERT INTO ${table('counts')} AS c VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1`, [event.streamId]);
              if (iOf(event) === 6 && broken.on) throw new Error('cannot count event 6');
            },
          },
        });
        const log = logTransactions(store);
        const errors: string[] = [];
        const runner = await new ProjectionRunner(store, projection, { retry: { immediateRetries: 0, backoffRetries: 0 }, onError: (error) => errors.push((error as Error).message) }).start();
        running.push(runner);
        await runner.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
        const { rows } = await sql.client.query<{ stream_id: string; n: number }>(`SELECT stream_id, n FROM ${sql.names.s}counts ORDER BY stream_id`);
        // s-1 keeps its first event only: the 7th failed and the 12th parked behind it.
        expect(Object.fromEntries(rows.map((r) => [r.stream_id, Number(r.n)]))).toEqual({ 's-0': 3, 's-1': 1, 's-2': 3, 's-3': 3, 's-4': 3 });
        // The batch ran to event 6, rolled back, and ran again without it: 0..5 twice in calls, once in effect.
        expect(calls).toEqual([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14]);
        expect(errors).toEqual(['cannot count event 6']);
        expect((await runner.deadLetters()).map((d) => [d.status, d.streamId, iOf(d.event), d.error ?? null])).toEqual([
          ['dead', 's-1', 6, 'cannot count event 6'],
          ['parked', 's-1', 11, null],
        ]);
        expect(runner.status().blockedStreams).toEqual(['s-1']);
        expect(savepoints(log)).toBe(0);
        expect((await consumerStorageFor(store).readCheckpoint('counts-failing'))!.position).toBe(await store.headPosition());
        // Once the handler is fixed, the dead letter goes the normal way: counted once.
        broken.on = false;
        const [letter] = await runner.deadLetters();
        expect(await runner.retryDeadLetter(letter!.id)).toEqual({ handled: 2, remaining: 0 });
        const after = await sql.client.query<{ n: number }>(`SELECT n FROM ${sql.names.s}counts WHERE stream_id = 's-1'`);
        expect(Number(after.rows[0]!.n)).toBe(3);
      });

      it('a subscription whose handler neither uses sql nor appends takes no savepoint, and a failure of it, with the inbox, is retried', async () => {
        const store = await on.open();
        for (let i = 0; i < 20; i++) await store.append(`m-${i % 4}`, [ev('E', { i })]);
        const log = logTransactions(store);
        const sent: string[] = [];
        const sub = await subscribe(store, {
          name: 'mailer',
          inbox: true,
          retry: { immediateRetries: 1, backoffRetries: 0 },
          handler: (event, ctx) => {
            if (iOf(event) === 9 && ctx.attempt === 1) throw new Error('smtp busy');
            sent.push(`${iOf(event)}@${ctx.attempt}`);
          },
        });
        await sub.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
        // Event 9's inbox row went with its failure, so its retry was not taken for a duplicate.
        expect(sent.filter((s) => s.startsWith('9@'))).toEqual(['9@2']);
        expect(sent.length).toBe(20);
        expect(await sub.deadLetters()).toEqual([]);
        expect(savepoints(log)).toBe(0);
      });

      it('a handler that only appends (context.append, context.store) takes its savepoint before the append, and a throw after it undoes the append; the others take none', async () => {
        const store = await on.open();
        for (let i = 0; i < 12; i++) await store.append(`t-${i % 4}`, [ev('E', { i })]);
        const log = logTransactions(store);
        const sub = await subscribe(store, {
          name: 'acker',
          filter: { types: ['E'] },
          retry: { immediateRetries: 1, backoffRetries: 0 },
          handler: async (event, ctx) => {
            const i = iOf(event);
            if (i % 3 !== 0) return;
            // Every other appending event goes through the store view, as handleCommand(context.store) does.
            const append = i % 2 === 0 ? ctx.append : ctx.store.append.bind(ctx.store);
            await append(`ack-${i}`, [ev('Acked', { i, attempt: ctx.attempt })]);
            if ((i === 6 || i === 9) && ctx.attempt === 1) throw new Error(`ack ${i} lost`);
          },
        });
        await sub.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
        for (const i of [0, 3, 6, 9]) {
          // The retry appends the same deterministic id: had the first attempt's append stayed, it would be what the stream holds.
          const { events } = await store.loadStream(`ack-${i}`);
          expect([i, events.map((e) => (e.data as { attempt: number }).attempt)]).toEqual([i, [i === 6 || i === 9 ? 2 : 1]]);
        }
        expect(await sub.deadLetters()).toEqual([]);
        // One handler savepoint for each of the four appending events' first runs; the eight others took none.
        const handlerSavepoints = log.flat().filter((s) => /^\s*SAVEPOINT factum_handler\b/i.test(s));
        expect(handlerSavepoints.length).toBe(4);
      });

      it(`a batch of 200 events whose handlers write never holds more than ${MAX_SAVEPOINTS_PER_TRANSACTION} savepoints in one transaction`, async () => {
        const store = await on.open();
        const sql = sqlAccess(store)!;
        await sql.client.query(`CREATE TABLE ${sql.names.s}written (i integer PRIMARY KEY)`);
        for (let i = 0; i < 200; i += 50) await store.append(`w-${i}`, Array.from({ length: 50 }, (_, j) => ev('E', { i: i + j })));
        const log = logTransactions(store);
        const sub = await subscribe(store, {
          name: 'writer',
          batchSize: 200,
          handler: async (event, ctx) => {
            await ctx.sql!.query(`INSERT INTO ${sql.names.s}written VALUES ($1)`, [iOf(event)]);
          },
        });
        await sub.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
        const counts = savepointsPerTransaction(log);
        expect(Math.max(...counts)).toBeLessThanOrEqual(MAX_SAVEPOINTS_PER_TRANSACTION);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
        const { rows } = await sql.client.query<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT i) AS d FROM ${sql.names.s}written`);
        expect([Number(rows[0]!.n), Number(rows[0]!.d)]).toEqual([200, 200]);
        expect((await consumerStorageFor(store).readCheckpoint('writer'))!.position).toBe(await store.headPosition());
      });
    },
    { needs: ['sql'], stores },
  );
}
