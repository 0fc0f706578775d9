/** Inline projections on every store: in the append's transaction, all or nothing. */
import { expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { defineProjection } from '../../src/projections/projection.js';
import { InlineProjections } from '../../src/projections/inline-projections.js';
import { rebuildProjection } from '../../src/projections/rebuild.js';
import { countingProjection, readCounts } from './counting-projection.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { ev } from './helpers.js';
import { sqlAccess } from '../../src/store/sql-access.js';

export function inlineSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('inline projections', (under) => {
    let store: EventStore;
    it('updates the read model in the append: both happen or neither does', async () => {
      store = await under.open();
      const sql = sqlAccess(store);
      const memory = new Map<string, number>();
      const projection = defineProjection({
        name: 'balances',
        tables: { balances: (t) => `CREATE TABLE ${t} (account text PRIMARY KEY, balance integer NOT NULL CHECK (balance >= 0))` },
        handlers: {
          Deposited: (e, ctx) => {
            const amount = (e.data as { amount: number }).amount;
            if (!ctx.sql) return void memory.set(e.streamId, (memory.get(e.streamId) ?? 0) + amount);
            return ctx.sql
              .query(`INSERT INTO ${ctx.table('balances')} AS b VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET balance = b.balance + $2`, [e.streamId, amount])
              .then(() => undefined);
          },
          Withdrawn: (e, ctx) => {
            const amount = (e.data as { amount: number }).amount;
            if (!ctx.sql) {
              const next = (memory.get(e.streamId) ?? 0) - amount;
              if (next < 0) throw new Error('overdrawn');
              return void memory.set(e.streamId, next);
            }
            // The CHECK constraint fails the statement, and with it the append.
            return ctx.sql.query(`UPDATE ${ctx.table('balances')} SET balance = balance - $2 WHERE account = $1`, [e.streamId, amount]).then(() => undefined);
          },
        },
      });
      const inline = await new InlineProjections(store, [projection]).start();
      const balance = async (account: string) => {
        if (!sql) return memory.get(account);
        const { rows } = await sql.client.query<{ balance: number }>(`SELECT balance FROM ${sql.names.s}balances WHERE account = $1`, [account]);
        return rows[0]?.balance;
      };

      await store.append('acct-1', [ev('Deposited', { amount: 50 }), ev('Deposited', { amount: 25 })]);
      expect(await balance('acct-1')).toBe(75);
      // The projection's error reaches the caller: the CHECK constraint as a STORAGE_ERROR with
      // the driver's error as cause, or the handler's own 'overdrawn' as it was thrown.
      await expect(store.append('acct-1', [ev('Withdrawn', { amount: 100 })])).rejects.toThrow(/overdrawn|balance_check/);
      if (sql) await expect(store.append('acct-1', [ev('Withdrawn', { amount: 100 })])).rejects.toMatchObject({ code: 'STORAGE_ERROR', details: { sqlState: '23514' } });
      // Neither the event nor the read-model change happened.
      expect((await store.streamInfo('acct-1')).version).toBe(2);
      expect(await balance('acct-1')).toBe(75);
      // An idempotent retry of an append is not applied twice.
      const id = '0190a0a0-0000-7000-8000-000000000001';
      await store.append('acct-1', [{ id, type: 'Deposited', data: { amount: 5 } }]);
      const again = await store.append('acct-1', [{ id, type: 'Deposited', data: { amount: 5 } }]);
      expect(again.alreadyAppended).toBe(true);
      expect(await balance('acct-1')).toBe(80);

      await inline.stop();
      await store.append('acct-1', [ev('Deposited', { amount: 1 })]);
      expect(await balance('acct-1')).toBe(80);
    });

    under.itIf(under.capabilities.sql, 'rebuild needs a SQL store')('rebuilds an inline projection while appends keep writing it', async () => {
      store = await under.open();
      const projection = countingProjection('inline-counts');
      await new InlineProjections(store, [projection]).start();
      const tally = new Map<string, number>();
      const write = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const stream = `c-${i % 5}`;
          await store.append(stream, [ev('Counted'), ev('Counted')]);
          tally.set(stream, (tally.get(stream) ?? 0) + 2);
        }
      };
      await write(100);
      // Wrong on purpose, so that only a real rebuild can put it right.
      const sql = sqlAccess(store)!;
      await sql.client.query(`UPDATE ${sql.names.s}counts SET n = n * 10`);
      let writing: Promise<void> | undefined;
      const result = await rebuildProjection(store, projection, {
        inline: true,
        batchSize: 30,
        progressEveryMs: 0,
        onProgress: () => void (writing ??= write(40)),
      });
      await writing;
      expect(result.swapped).toBe(true);
      expect(await readCounts(store, projection)).toEqual(Object.fromEntries([...tally.entries()].sort()));
    });
  }, { stores });
}
