/**
 * Every statement on the checkpoints table (migrations/002-consumer-tables.ts), in one place: the subscriptions'
 * storage and the projection rebuild both go through these, so the compare-and-set has one
 * definition.
 */
import type { SqlNames, SqlQueryable } from '../store/sql-access.js';
import type { Checkpoint } from './consumer-storage.js';

/** The stored checkpoint `name`; `forUpdate` locks its row until the transaction ends. */
export async function readCheckpoint(on: SqlQueryable, names: SqlNames, name: string, options: { forUpdate?: boolean } = {}): Promise<Checkpoint | undefined> {
  const { rows } = await on.query<{ position: string | number; generation: number }>(
    `SELECT position, generation FROM ${names.s}checkpoints WHERE name = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [name],
  );
  const row = rows[0];
  return row ? { position: BigInt(row.position), generation: Number(row.generation) } : undefined;
}

/**
 * Compare-and-set: moves `name` from `expected` (undefined: no checkpoint yet) to `position`.
 * Returns undefined when it did, otherwise the row another writer left (`{ position: -1n,
 * generation: -1 }` when that writer deleted it); nothing is written then.
 */
export async function saveCheckpoint(
  on: SqlQueryable,
  names: SqlNames,
  name: string,
  expected: Checkpoint | undefined,
  position: bigint,
  options: { relaxedDurability?: boolean } = {},
): Promise<Checkpoint | undefined> {
  const { s } = names;
  // synchronous_commit is read at COMMIT: setting it in this last statement saves a round trip.
  const relax = options.relaxedDurability ? ` AND set_config('synchronous_commit', 'off', true) IS NOT NULL` : '';
  // Under READ COMMITTED a competing writer's UPDATE waits for ours, then re-checks the
  // condition against our committed row and matches nothing: exactly one of them advances.
  const { rows } = expected
    ? await on.query(
        `UPDATE ${s}checkpoints SET position = $2, updated_at = now() WHERE name = $1 AND position = $3 AND generation = $4${relax} RETURNING 1`,
        [name, position.toString(), expected.position.toString(), expected.generation],
      )
    : await on.query(`INSERT INTO ${s}checkpoints (name, position) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING 1`, [name, position.toString()]);
  if (rows.length === 1) return undefined;
  return (await readCheckpoint(on, names, name)) ?? { position: -1n, generation: -1 };
}

/** Sets `name` to `position` whatever it held (a rebuild starting over), keeping its generation. */
export async function resetCheckpoint(on: SqlQueryable, names: SqlNames, name: string, position: bigint): Promise<void> {
  await on.query(`INSERT INTO ${names.s}checkpoints (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()`, [
    name,
    position.toString(),
  ]);
}

/**
 * Sets `name` to `position` and bumps its generation: a read model was swapped in under it, so
 * a runner's next compare-and-set fails on the generation and it reloads instead of writing twice.
 */
export async function replaceCheckpoint(on: SqlQueryable, names: SqlNames, name: string, position: bigint): Promise<void> {
  await on.query(
    `INSERT INTO ${names.s}checkpoints AS c (name, position) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, generation = c.generation + 1, updated_at = now()`,
    [name, position.toString()],
  );
}

export async function deleteCheckpoint(on: SqlQueryable, names: SqlNames, name: string): Promise<void> {
  await on.query(`DELETE FROM ${names.s}checkpoints WHERE name = $1`, [name]);
}

/** Every stored checkpoint, by name, with the time it last moved. */
export async function listCheckpoints(on: SqlQueryable, names: SqlNames): Promise<Array<Checkpoint & { name: string; updatedAt: Date }>> {
  const { rows } = await on.query<{ name: string; position: string | number; generation: number; updated_at: Date | string }>(
    `SELECT name, position, generation, updated_at FROM ${names.s}checkpoints ORDER BY name`,
  );
  return rows.map((r) => ({ name: r.name, position: BigInt(r.position), generation: Number(r.generation), updatedAt: new Date(r.updated_at) }));
}
