/**
 * Async projections on every store: the read model and the checkpoint in one transaction,
 * read-your-writes, a crash between the handler and the commit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import { defineProjection, type Projection } from '../../src/projections/projection.js';
import { ProjectionRunner, waitForProjection } from '../../src/projections/projection-runner.js';
import type { StoreFactory } from '../stores.js';
import { caught, ev, sqlOf } from './helpers.js';

/** Counts events per stream; a double-applied event shows as a count too high. */
export function countingProjection(name: string, options: { memory?: Map<string, number>; beforeCommit?: (sql: unknown, eventNumber: number) => Promise<void> } = {}): Projection {
  let handled = 0;
  const apply = async (event: { streamId: string }, ctx: { sql?: any; table(name: string): string }) => {
    handled++;
    if (!ctx.sql) {
      options.memory?.set(event.streamId, (options.memory.get(event.streamId) ?? 0) + 1);
      return;
    }
    await ctx.sql.query(
      `INSERT INTO ${ctx.table('counts')} AS c (stream_id, n) VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1`,
      [event.streamId],
    );
    await options.beforeCommit?.(ctx.sql, handled);
  };
  return defineProjection({
    name,
    tables: { counts: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` },
    handlers: { Counted: apply, AlsoCounted: apply },
  });
}

export async function readCounts(store: EventStore, projection: Projection, table = 'counts', memory?: Map<string, number>): Promise<Record<string, number>> {
  const sql = sqlOf(store);
  if (!sql) return Object.fromEntries([...(memory ?? new Map<string, number>()).entries()].sort());
  const { rows } = await sql.client.query<{ stream_id: string; n: number }>(`SELECT stream_id, n FROM ${sql.names.s}"${table}" ORDER BY stream_id`);
  void projection;
  return Object.fromEntries(rows.map((r) => [r.stream_id, Number(r.n)]));
}

export function projectionSuite(factory: StoreFactory): void {
  const label = factory.skip ? `${factory.name} (skipped: ${factory.skip})` : factory.name;
  describe.skipIf(Boolean(factory.skip))(`async projections: ${label}`, () => {
    let store: EventStore;
    const runners: ProjectionRunner[] = [];
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.stop();
      await store?.close();
    });

    it('builds the read model and gives read-your-writes through waitFor', async () => {
      store = await factory.open();
      const memory = new Map<string, number>();
      const projection = countingProjection('counts', { memory });
      await store.append('a-1', [ev('Counted'), ev('Ignored'), ev('Counted')]);
      const runner = await ProjectionRunner.start(store, projection);
      runners.push(runner);
      const { lastPosition } = await store.append('a-2', [ev('AlsoCounted')]);
      await runner.waitFor(lastPosition, { timeoutMs: 10_000 });
      // Visible at once after waitFor: the API can answer with its own write in place.
      expect(await readCounts(store, projection, 'counts', memory)).toEqual({ 'a-1': 2, 'a-2': 1 });
      await waitForProjection(store, 'counts', lastPosition, { timeoutMs: 10_000 });
      const timeout = await caught(waitForProjection(store, 'counts', lastPosition + 100n, { timeoutMs: 30 }));
      expect(timeout.code).toBe('WAIT_TIMEOUT');
    });

    it.skipIf(factory.name === 'memory')('never applies an event twice when the transaction dies between the handler and the commit', async () => {
      store = await factory.open();
      const sql = sqlOf(store)!;
      for (let i = 0; i < 30; i++) await store.append(`s-${i % 4}`, [ev('Counted')]);
      let crashes = 0;
      const projection = countingProjection('crashy', {
        // The 7th and 19th handled events kill the transaction after the read model was written.
        beforeCommit: async (tx: any, n: number) => {
          if (n !== 7 && n !== 19) return;
          crashes++;
          if (factory.name === 'postgres') await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
          throw new Error('simulated crash after the handler, before the commit');
        },
      });
      const runner = await ProjectionRunner.start(store, projection, { batchSize: 5, retry: { immediateRetries: 3, backoffRetries: 0 } });
      runners.push(runner);
      await runner.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
      expect(crashes).toBe(2);
      expect(await readCounts(store, projection)).toEqual({ 's-0': 8, 's-1': 8, 's-2': 7, 's-3': 7 });
      const { rows } = await sql.client.query<{ position: string }>(`SELECT position FROM ${sql.names.s}checkpoints WHERE name = 'crashy'`);
      expect(BigInt(rows[0]!.position)).toBe(await store.headPosition());
    });
  });
}
