/**
 * "The read models equal a rebuild from the log": reads every row of each read model, rebuilds
 * it from the log (`rebuildProjection`: a fresh copy replayed while the live one keeps serving,
 * then swapped in), reads it again and counts the rows that differ. A read model that had gone
 * wrong is repaired by the same step, and the check tells which rows were wrong.
 */
import { readModel, rebuildProjection, type EventStore, type Projection } from '../../../src/index.js';

export interface RebuildDifference {
  projection: string;
  table: string;
  /** Rows of the live table missing from the rebuild, and rows of the rebuild missing from the live table. */
  onlyLive: number;
  onlyRebuilt: number;
}

export async function compareWithRebuild(store: EventStore, projections: ReadonlyArray<{ projection: Projection; inline: boolean }>): Promise<RebuildDifference[]> {
  const out: RebuildDifference[] = [];
  for (const { projection, inline } of projections) {
    const tables = Object.keys(projection.tables ?? {});
    const before = await Promise.all(tables.map((table) => rowsOf(store, projection, table)));
    await rebuildProjection(store, projection, { inline });
    for (const [i, table] of tables.entries()) {
      const after = await rowsOf(store, projection, table);
      out.push({ projection: projection.name, table, onlyLive: missing(before[i]!, after), onlyRebuilt: missing(after, before[i]!) });
    }
  }
  return out;
}

/** Every row of a table, each as one comparable string. */
async function rowsOf(store: EventStore, projection: Projection, table: string): Promise<string[]> {
  const model = readModel(store, projection);
  const { rows } = await model.query(`SELECT * FROM ${model.table(table)}`);
  return rows.map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
}

/** How many of `rows` (a multiset) are not in `other`. */
function missing(rows: string[], other: string[]): number {
  const left = new Map<string, number>();
  for (const row of other) left.set(row, (left.get(row) ?? 0) + 1);
  let count = 0;
  for (const row of rows) {
    const n = left.get(row) ?? 0;
    if (n === 0) count++;
    else left.set(row, n - 1);
  }
  return count;
}
