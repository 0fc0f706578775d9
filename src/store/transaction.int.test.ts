// store.transaction on every store: the user's rows and events commit together or not at all,
// every append rule holds inside, and $all readers never see (nor skip for good) what a
// transaction may still commit or has rolled back.
import { afterAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createdSchemas, dropSchemas } from '../../test/stores.js';
import { caught } from '../../test/caught.js';
import { gate } from '../../test/gate.js';
import { describeOnStores } from '../../test/describe-on-stores.js';
import type { EventStore } from '../core/event-store.js';
import type { AppendResult, RecordedEvent } from '../core/message.js';
import { uuidv7 } from '../core/uuid.js';
import { defineProjection } from '../projections/projection.js';
import { InlineProjections } from '../projections/inline-projections.js';
import { EventRegistry } from '../schema/event-registry.js';
import { defineEvent } from '../schema/event-type.js';
import { sqlAccess } from './sql-access.js';
import { enlistTransaction } from './transaction-scope.js';

afterAll(() => dropSchemas(createdSchemas));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}


describeOnStores('store.transaction', (on) => {
  const f = on.factory;
  const open = () => on.open();
  const sqlOf = sqlAccess;
  /** The user's own table (SQL stores): an account row per stream. */
  const accounts = async (store: EventStore): Promise<string> => {
    const sql = sqlOf(store)!;
    const table = `${sql.names.s}accounts`;
    await sql.client.exec(`CREATE TABLE ${table} (id text PRIMARY KEY, balance integer NOT NULL)`);
    return table;
  };
  const rowsOf = async (store: EventStore, table: string) =>
    (await sqlOf(store)!.client.query<{ id: string; balance: number }>(`SELECT id, balance FROM ${table} ORDER BY id`)).rows;

  it('commits every append of the callback at once and resolves to what the callback returned', async () => {
    const store = await open();
    const announced: AppendResult[] = [];
    store.onAppended((result) => announced.push(result));
    const { value, results } = await store.transaction(async (tx) => {
      const first = await tx.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'a' } }], { expectedVersion: 'no_stream' });
      const second = await tx.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'b' } }, { type: 'ItemAdded', data: { sku: 'c' } }], { expectedVersion: 1 });
      const other = await tx.append('order-1', [{ type: 'OrderPlaced', data: {} }]);
      return { value: 'done', results: [first, second, other] };
    });
    expect(value).toBe('done');
    expect(results.map((r) => r.nextExpectedVersion)).toEqual([1, 3, 1]);
    const all = await collect(store.readAll());
    expect(all.map((e) => [e.streamId, e.streamVersion])).toEqual([['cart-1', 1], ['cart-1', 2], ['cart-1', 3], ['order-1', 1]]);
    expect(results.flatMap((r) => r.positions)).toEqual(all.map((e) => e.globalPosition));
    // In-process subscriptions hear of the appends once they are committed.
    expect(announced).toEqual(results);
  });

  it('appends called without awaiting each other run one after the other, in call order', async () => {
    const store = await open();
    const results = await store.transaction((tx) =>
      Promise.all(Array.from({ length: 5 }, (_, i) => tx.append('tally-1', [{ type: 'Counted', data: { i } }], { expectedVersion: i === 0 ? 'no_stream' : i }))),
    );
    expect(results.map((r) => r.nextExpectedVersion)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a throw rolls back: nothing is appended, readers see nothing, and the rolled-back positions are passed, not waited on', async () => {
    const store = await open();
    const table = sqlOf(store) ? await accounts(store) : undefined;
    const announced: AppendResult[] = [];
    store.onAppended((result) => announced.push(result));
    const failure = new Error('payment declined');
    let drawn: bigint[] = [];
    const error = await caught(
      store.transaction(async (tx) => {
        if (table) await tx.sql.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['acc-1', 100]);
        drawn = (await tx.append('acc-1', [{ type: 'Opened', data: {} }, { type: 'Deposited', data: { amount: 100 } }])).positions;
        throw failure;
      }),
    );
    expect(error).toBe(failure);
    expect(drawn).toHaveLength(2);
    expect(await collect(store.readAll())).toEqual([]);
    expect((await store.streamInfo('acc-1')).exists).toBe(false);
    if (table) expect(await rowsOf(store, table)).toEqual([]);
    expect(announced).toEqual([]);

    const after = await store.append('acc-2', [{ type: 'Opened', data: {} }]);
    const page = await store.readAllPage();
    expect(page.events.map((e) => e.streamId)).toEqual(['acc-2']);
    expect(page.position).toBe(after.lastPosition);
    expect(page.waitingOn).toBeUndefined();
    // SQL stores drew the positions from their sequence, and the reader passed the holes they left.
    if (sqlOf(store)) expect(after.lastPosition > drawn[1]!).toBe(true);
  });

  it('expected versions hold inside: a conflict rolls everything back and throws CONCURRENCY_CONFLICT, even when the callback catches it', async () => {
    const store = await open();
    const table = sqlOf(store) ? await accounts(store) : undefined;
    await store.append('acc-1', [{ type: 'Opened', data: {} }]);
    let inside: unknown;
    const error = await caught(
      store.transaction(async (tx) => {
        if (table) await tx.sql.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['acc-1', 5]);
        await tx.append('acc-2', [{ type: 'Opened', data: {} }]);
        inside = await tx.append('acc-1', [{ type: 'Deposited', data: { amount: 5 } }], { expectedVersion: 'no_stream' }).catch((e: unknown) => e);
        // The transaction is doomed: later calls fail with the same error.
        expect(await tx.append('acc-3', [{ type: 'Opened', data: {} }]).catch((e: unknown) => e)).toBe(inside);
        return 'swallowed';
      }),
    );
    expect(error.code).toBe('CONCURRENCY_CONFLICT');
    expect(error).toBe(inside);
    expect(error).toMatchObject({ expectedVersion: 'no_stream', actualVersion: 1 });
    expect((await collect(store.readAll())).map((e) => e.streamId)).toEqual(['acc-1']);
    if (table) expect(await rowsOf(store, table)).toEqual([]);
  });

  if (f.capabilities.sql) it('a statement of the callback that fails fails the transaction, even when the callback catches it', async () => {
    const store = await open();
    const table = await accounts(store);
    await sqlOf(store)!.client.query(`INSERT INTO ${table} VALUES ('acc-1', 1)`);
    let inside: unknown;
    const error = await caught(
      store.transaction(async (tx) => {
        await tx.append('acc-2', [{ type: 'Opened', data: {} }]);
        inside = await tx.sql.query(`INSERT INTO ${table} VALUES ('acc-1', 2)`).catch((e: unknown) => e);
        return 'swallowed';
      }),
    );
    expect(error).toBe(inside);
    expect(error.code).toBe('STORAGE_ERROR');
    expect(error.details.sqlState).toBe('23505');
    expect(await collect(store.readAll())).toEqual([]);
  });

  it('idempotency holds inside: re-appended ids answer with the first result and write nothing', async () => {
    const store = await open();
    const committed = { id: uuidv7(), type: 'Opened', data: {} };
    const first = await store.append('acc-1', [committed], { expectedVersion: 'no_stream' });
    const inTx = { id: uuidv7(), type: 'Deposited', data: { amount: 1 } };
    const [again, appended, repeated] = await store.transaction(async (tx) => [
      await tx.append('acc-1', [committed], { expectedVersion: 'no_stream' }),
      await tx.append('acc-1', [inTx], { expectedVersion: 1 }),
      await tx.append('acc-1', [inTx]),
    ]);
    expect(again).toEqual({ ...first, alreadyAppended: true });
    expect(appended!.alreadyAppended).toBe(false);
    expect(repeated).toEqual({ ...appended, alreadyAppended: true });
    expect((await store.loadStream('acc-1')).events.map((e) => e.id)).toEqual([committed.id, inTx.id]);
    // A partial overlap is an error, and fails the transaction.
    const error = await caught(store.transaction((tx) => tx.append('acc-1', [inTx, { type: 'Deposited', data: { amount: 2 } }])));
    expect(error.code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('validates events inside, and a registry wrapped around the store validates them too', async () => {
    const inner = await open();
    const Deposited = defineEvent('Deposited', z.object({ amount: z.number().positive() }));
    const store = new EventRegistry([Deposited]).wrap(inner);
    const table = sqlOf(inner) ? await accounts(inner) : undefined;
    const invalid = await caught(
      store.transaction(async (tx) => {
        if (table) await tx.sql.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['acc-1', -5]);
        await tx.append('acc-1', [Deposited.create({ amount: 5 })]);
        await tx.append('acc-1', [{ type: 'Deposited', data: { amount: -5 } }]).catch(() => undefined);
      }),
    );
    expect(invalid.code).toBe('EVENT_SCHEMA_VIOLATION');
    const badData = await caught(store.transaction((tx) => tx.append('acc-1', [{ type: 'Deposited', data: { amount: Number.NaN } }])));
    expect(['INVALID_EVENT', 'EVENT_SCHEMA_VIOLATION']).toContain(badData.code);
    expect(await collect(inner.readAll())).toEqual([]);
    if (table) expect(await rowsOf(inner, table)).toEqual([]);
    await store.transaction((tx) => tx.append('acc-1', [Deposited.create({ amount: 5 })]));
    expect((await inner.loadStream('acc-1')).events.map((e) => e.data)).toEqual([{ amount: 5 }]);
  });

  it('runs inline projections inside: the read model commits with the events, or not at all', async () => {
    const store = await open();
    const seen: string[] = [];
    const totals = defineProjection({
      name: 'totals',
      tables: { totals: (t) => `CREATE TABLE ${t} (id text PRIMARY KEY, total integer NOT NULL)` },
      handlers: {
        Deposited: sqlOf(store)
          ? async (event, { sql, table }) => {
              await sql!.query(`INSERT INTO ${table('totals')} VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET total = ${table('totals')}.total + $2`, [
                event.streamId,
                (event.data as { amount: number }).amount,
              ]);
            }
          : (event) => void seen.push(`${event.streamId}:${(event.data as { amount: number }).amount}`),
      },
    });
    await new InlineProjections(store, [totals]).start();
    const read = async () =>
      sqlOf(store)
        ? (await sqlOf(store)!.client.query<{ id: string; total: number }>(`SELECT id, total FROM ${sqlOf(store)!.names.s}"totals" ORDER BY id`)).rows.map((r) => `${r.id}:${r.total}`)
        : seen;
    await caught(
      store.transaction(async (tx) => {
        await tx.append('acc-1', [{ type: 'Deposited', data: { amount: 7 } }]);
        throw new Error('rolled back');
      }),
    );
    expect(await read()).toEqual([]);
    await store.transaction(async (tx) => {
      await tx.append('acc-1', [{ type: 'Deposited', data: { amount: 7 } }]);
      await tx.append('acc-1', [{ type: 'Deposited', data: { amount: 3 } }]);
    });
    expect(await read()).toEqual(sqlOf(store) ? ['acc-1:10'] : ['acc-1:7', 'acc-1:3']);
    // A projection that throws fails the transaction with its own error.
    const broken = defineProjection({ name: 'broken', handlers: { Withdrawn: () => { throw new Error('projection bug'); } } });
    await new InlineProjections(store, [broken]).start();
    const error = await caught(store.transaction((tx) => tx.append('acc-1', [{ type: 'Withdrawn', data: {} }])));
    expect(error.message).toBe('projection bug');
    expect((await store.streamInfo('acc-1')).version).toBe(2);
  });

  it('two transactions racing on one stream: one commits, the other gets CONCURRENCY_CONFLICT and its rows are rolled back too', async () => {
    const store = await open();
    const table = sqlOf(store) ? await accounts(store) : undefined;
    for (let round = 0; round < 5; round++) {
      const stream = `acc-${round}`;
      const attempt = (who: string) =>
        store.transaction(async (tx) => {
          if (table) await tx.sql.query(`INSERT INTO ${table} VALUES ($1, $2)`, [`${stream}-${who}`, 1]);
          await tx.append(stream, [{ type: 'Opened', data: { who } }], { expectedVersion: 'no_stream' });
          if (table) await tx.sql.query(`UPDATE ${table} SET balance = 2 WHERE id = $1`, [`${stream}-${who}`]);
          return who;
        });
      const outcomes = await Promise.allSettled([attempt('a'), attempt('b')]);
      const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { code?: string }] : []));
      expect(won).toHaveLength(1);
      expect(lost.map((e) => e.code)).toEqual(['CONCURRENCY_CONFLICT']);
      const { events } = await store.loadStream(stream);
      expect(events.map((e) => (e.data as { who: string }).who)).toEqual(won);
      if (table) {
        const rows = (await rowsOf(store, table)).filter((r) => r.id.startsWith(`${stream}-`));
        expect(rows).toEqual([{ id: `${stream}-${won[0]}`, balance: 2 }]);
      }
    }
  });

  it('calls on the store from inside its own transaction fail at once instead of waiting behind it', async () => {
    const store = await open();
    const codes = await store.transaction(async (tx) => {
      await tx.append('acc-1', [{ type: 'Opened', data: {} }]);
      const calls = [
        () => store.append('acc-2', [{ type: 'Opened', data: {} }]),
        () => store.readAllPage(),
        () => store.loadStream('acc-1'),
        () => collect(store.readAll()),
        () => store.headPosition(),
        () => store.transaction(async () => 'nested'),
      ];
      const out: string[] = [];
      for (const call of calls) out.push((await caught(call())).code);
      return out;
    });
    expect(codes).toEqual(Array(6).fill('TRANSACTION_IN_PROGRESS'));
    // The transaction itself went through, and the store works again once it has ended.
    expect((await store.loadStream('acc-1')).events).toHaveLength(1);
    expect((await store.append('acc-2', [{ type: 'Opened', data: {} }])).nextExpectedVersion).toBe(1);
  });

  it('a tx used after its transaction ended throws TRANSACTION_ENDED', async () => {
    const store = await open();
    const kept = await store.transaction(async (tx) => tx);
    expect((await caught(kept.append('acc-1', [{ type: 'Opened', data: {} }]))).code).toBe('TRANSACTION_ENDED');
    if (sqlOf(store)) expect((await caught(kept.sql.query('SELECT 1'))).code).toBe('TRANSACTION_ENDED');
    expect(await collect(store.readAll())).toEqual([]);
  });

  it('readers outside see nothing of an open transaction, then all of it once it commits', async () => {
    const store = await open();
    const before = await store.append('acc-0', [{ type: 'Opened', data: {} }]);
    const held = gate();
    const appended = gate();
    let positions: bigint[] = [];
    const transaction = store.transaction(async (tx) => {
      positions = (await tx.append('acc-1', [{ type: 'Opened', data: {} }, { type: 'Deposited', data: { amount: 1 } }])).positions;
      appended.open();
      await held.opened;
    });
    await appended.opened;
    // PGlite is one session: its reader queues behind the transaction; the others read now.
    const reading = store.readAllPage({ after: before.lastPosition });
    if (f.name !== 'pglite') {
      const page = await reading;
      expect(page.events).toEqual([]);
      expect(page.position).toBe(before.lastPosition);
      expect((await store.streamInfo('acc-1')).exists).toBe(false);
    }
    held.open();
    await transaction;
    const page = f.name === 'pglite' ? await reading : await store.readAllPage({ after: before.lastPosition });
    expect(page.events.map((e: RecordedEvent) => e.globalPosition)).toEqual(positions);
  });

  it('joins a transaction someone else holds (enlistTransaction): the appends commit with it, or not at all', async () => {
    const inner = await open();
    const Opened = defineEvent('Opened', z.object({ owner: z.string() }));
    const store = new EventRegistry([Opened]).wrap(inner);
    const sql = sqlOf(inner);
    const table = sql ? await accounts(inner) : undefined;
    let held = 0;
    // The holder: on SQL a transaction of its own on the store's client (a handler's), on memory none.
    const hold = async (work: (scope: Awaited<ReturnType<typeof enlistTransaction>>) => Promise<void>) => {
      if (!sql) {
        const scope = await enlistTransaction(store);
        try {
          await work(scope);
          await scope.beforeCommit();
          scope.end(true);
        } catch (error) {
          await scope.abandon();
          scope.end(false);
          throw error;
        }
        return;
      }
      let scope: Awaited<ReturnType<typeof enlistTransaction>> | undefined;
      try {
        await sql.client.transaction(async (session) => {
          scope = await enlistTransaction(store, session);
          await session.query(`INSERT INTO ${table} VALUES ($1, 1)`, [`row-${++held}`]);
          try {
            await work(scope);
          } catch (error) {
            await scope.abandon();
            throw error;
          }
          await scope.beforeCommit();
        });
        scope!.end(true);
      } catch (error) {
        scope?.end(false);
        throw error;
      }
    };
    await hold((scope) => scope.tx.append('acc-1', [Opened.create({ owner: 'ann' })]).then(() => undefined));
    const invalid = await caught(hold((scope) => scope.tx.append('acc-2', [{ type: 'Opened', data: { owner: 7 } }]).then(() => undefined).catch(() => undefined)));
    expect(invalid.code).toBe('EVENT_SCHEMA_VIOLATION');
    await caught(
      hold(async (scope) => {
        await scope.tx.append('acc-3', [Opened.create({ owner: 'bob' })]);
        throw new Error('handler failed');
      }),
    );
    expect((await collect(inner.readAll())).map((e) => e.streamId)).toEqual(['acc-1']);
    if (table) expect(await rowsOf(inner, table)).toHaveLength(1);
  });

  if (f.name === 'memory') {
    it('has no SQL: tx.sql throws SQL_UNAVAILABLE, and the transaction rolls back', async () => {
      const store = await open();
      const error = await caught(
        store.transaction(async (tx) => {
          await tx.append('acc-1', [{ type: 'Opened', data: {} }]);
          return tx.sql.query('SELECT 1');
        }),
      );
      expect(error.code).toBe('SQL_UNAVAILABLE');
      expect(error.message).toMatch(/SQL store/);
      expect(await collect(store.readAll())).toEqual([]);
    });

    it("another store's transaction inside the callback runs, and the outer store stays refused inside it", async () => {
      const outer = await open();
      const other = await open();
      const codes = await outer.transaction(async (tx) => {
        await tx.append('acc-1', [{ type: 'Opened', data: {} }]);
        return other.transaction(async (inner) => {
          await inner.append('acc-9', [{ type: 'Opened', data: {} }]);
          return [(await caught(outer.headPosition())).code, (await caught(other.headPosition())).code];
        });
      });
      expect(codes).toEqual(['TRANSACTION_IN_PROGRESS', 'TRANSACTION_IN_PROGRESS']);
      expect((await collect(outer.readAll())).map((e) => e.streamId)).toEqual(['acc-1']);
      expect((await collect(other.readAll())).map((e) => e.streamId)).toEqual(['acc-9']);
    });

    it('holds other writers back while a transaction is open; they go on, in order, once it ends', async () => {
      const store = await open();
      const held = gate();
      const appended = gate();
      const transaction = store.transaction(async (tx) => {
        await tx.append('acc-1', [{ type: 'Opened', data: {} }], { expectedVersion: 'no_stream' });
        appended.open();
        await held.opened;
      });
      await appended.opened;
      const outside = store.append('acc-1', [{ type: 'Opened', data: {} }], { expectedVersion: 'no_stream' }).catch((e: { code: string }) => e.code);
      const later = store.append('acc-2', [{ type: 'Opened', data: {} }]);
      held.open();
      await transaction;
      expect(await outside).toBe('CONCURRENCY_CONFLICT');
      expect((await later).lastPosition).toBe(2n);
    });
  }
});
