/**
 * "The read models equal a rebuild from the log": replays the whole log through the same
 * projection handlers into temporary copies of their tables, in one transaction, and counts
 * the rows that differ. Nothing is left behind: the copies live in `pg_temp` and are dropped.
 */
import { applyProjection, ensureProjectionTables, tableNamer, type EventStore, type Projection, type RecordedEvent, sqlAccess } from '../factum.js';

export interface RebuildDifference {
  projection: string;
  table: string;
  /** Rows of the live table missing from the rebuild, and rows of the rebuild missing from the live table. */
  onlyLive: number;
  onlyRebuilt: number;
}

export async function compareWithRebuild(store: EventStore, projections: readonly Projection[]): Promise<RebuildDifference[]> {
  const sql = sqlAccess(store);
  if (!sql) throw new Error('The shop read models live in SQL tables: run it on PGlite or PostgreSQL');
  const types = [...new Set(projections.flatMap((p) => p.eventTypes))];
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll({ types })) events.push(event);

  return sql.transaction(async (tx) => {
    const out: RebuildDifference[] = [];
    for (const projection of projections) {
      const live = tableNamer(projection, sql.names.s);
      const copy = tableNamer(projection, 'pg_temp.', '_rebuild');
      await ensureProjectionTables(tx, 'pg_temp.', projection, '_rebuild');
      for (const event of events) await applyProjection(projection, event, { sql: tx, table: copy, subscription: `${projection.name}:rebuild`, attempt: 1 });
      for (const table of Object.keys(projection.tables ?? {})) {
        const { rows } = await tx.query<{ only_live: string | number; only_rebuilt: string | number }>(
          `SELECT (SELECT count(*) FROM (TABLE ${live(table)} EXCEPT ALL TABLE ${copy(table)}) a) AS only_live,
                  (SELECT count(*) FROM (TABLE ${copy(table)} EXCEPT ALL TABLE ${live(table)}) b) AS only_rebuilt`,
        );
        out.push({ projection: projection.name, table, onlyLive: Number(rows[0]!.only_live), onlyRebuilt: Number(rows[0]!.only_rebuilt) });
        await tx.query(`DROP TABLE ${copy(table)}`);
      }
    }
    return out;
  });
}
