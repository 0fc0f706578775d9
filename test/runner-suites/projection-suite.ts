/**
 * Async projections on every store: the read model and the checkpoint in one transaction,
 * read-your-writes, a crash between the handler and the commit.
 */
import { afterEach, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { ProjectionRunner } from '../../src/projections/projection-runner.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { caught, ev } from './helpers.js';
import { sqlAccess } from '../../src/store/sql-access.js';
import { countingProjection, readCounts } from './counting-projection.js';

export { countingProjection, readCounts };

export function projectionSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('async projections', (under) => {
    let store: EventStore;
    const runners: ProjectionRunner[] = [];
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.stop();
    });

    it('builds the read model and gives read-your-writes through waitFor', async () => {
      store = await under.open();
      const memory = new Map<string, number>();
      const projection = countingProjection('counts', under.capabilities.sql ? {} : { memory });
      await store.append('a-1', [ev('Counted'), ev('Ignored'), ev('Counted')]);
      const runner = await new ProjectionRunner(store, projection).start();
      runners.push(runner);
      const { lastPosition } = await store.append('a-2', [ev('AlsoCounted')]);
      await runner.waitFor(lastPosition, { timeoutMs: 10_000 });
      // Visible at once after waitFor: the API can answer with its own write in place.
      expect(await readCounts(store, projection, 'counts', memory)).toEqual({ 'a-1': 2, 'a-2': 1 });
      const timeout = await caught(runner.waitFor(lastPosition + 100n, { timeoutMs: 30 }));
      expect(timeout.code).toBe('WAIT_TIMEOUT');
    });

    under.itIf(!under.capabilities.sql, 'this store has SQL')('refuses at start a projection whose read model is SQL tables, on the memory store', async () => {
      store = await under.open();
      const error = await caught(new ProjectionRunner(store, countingProjection('tabled')).start());
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('SQL tables (counts)');
    });

    under.itIf(under.capabilities.sql, 'the memory store has no transaction to kill')('never applies an event twice when the transaction dies between the handler and the commit', async () => {
      store = await under.open();
      const sql = sqlAccess(store)!;
      for (let i = 0; i < 30; i++) await store.append(`s-${i % 4}`, [ev('Counted')]);
      let crashes = 0;
      const projection = countingProjection('crashy', {
        // The 7th and 19th handled events kill the transaction after the read model was written.
        beforeCommit: async (tx: any, n: number) => {
          if (n !== 7 && n !== 19) return;
          crashes++;
          // A server backend dies with its connection; PGlite's backend is this process.
          if (under.capabilities.concurrentSessions) await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
          throw new Error('simulated crash after the handler, before the commit');
        },
      });
      const runner = await new ProjectionRunner(store, projection, { batchSize: 5, retry: { immediateRetries: 3, backoffRetries: 0 } }).start();
      runners.push(runner);
      await runner.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
      expect(crashes).toBe(2);
      expect(await readCounts(store, projection)).toEqual({ 's-0': 8, 's-1': 8, 's-2': 7, 's-3': 7 });
      const { rows } = await sql.client.query<{ position: string }>(`SELECT position FROM ${sql.names.s}checkpoints WHERE name = 'crashy'`);
      expect(BigInt(rows[0]!.position)).toBe(await store.headPosition());
    });
  }, { stores });
}
