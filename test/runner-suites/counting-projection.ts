/** The counting projection shared by the projection tests and the crash-test worker processes. */
import type { EventStore } from '../../src/core/event-store.js';
import { defineProjection, type Projection } from '../../src/projections/projection.js';
import { sqlAccess } from '../../src/store/sql-access.js';

/** Counts events per stream; a double-applied event shows as a count too high. */
export function countingProjection(
  name: string,
  options: { memory?: Map<string, number>; beforeCommit?: (sql: unknown, eventNumber: number) => Promise<void>; table?: string } = {},
): Projection {
  const table = options.table ?? 'counts';
  let handled = 0;
  const apply = async (event: { streamId: string }, ctx: { sql?: any; table(name: string): string }) => {
    handled++;
    if (!ctx.sql) {
      options.memory?.set(event.streamId, (options.memory.get(event.streamId) ?? 0) + 1);
      return;
    }
    await ctx.sql.query(
      `INSERT INTO ${ctx.table(table)} AS c (stream_id, n) VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1`,
      [event.streamId],
    );
    await options.beforeCommit?.(ctx.sql, handled);
  };
  return defineProjection({
    name,
    // Counted in `memory` instead of a table when given one (the memory store has no SQL).
    ...(options.memory ? {} : { tables: { [table]: (t: string) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` } }),
    handlers: { Counted: apply, AlsoCounted: apply },
  });
}

export async function readCounts(store: EventStore, projection: Projection, table = 'counts', memory?: Map<string, number>): Promise<Record<string, number>> {
  const sql = sqlAccess(store);
  if (!sql) return Object.fromEntries([...(memory ?? new Map<string, number>()).entries()].sort());
  const { rows } = await sql.client.query<{ stream_id: string; n: number }>(`SELECT stream_id, n FROM ${sql.names.s}"${table}" ORDER BY stream_id`);
  void projection;
  return Object.fromEntries(rows.map((r) => [r.stream_id, Number(r.n)]));
}

