import type { SqlClient } from '../sql-client.js';
import { isConnectionFailure } from '../connection-failure.js';
import type { SqlNames } from '../sql-names.js';
import { FactumError } from '../../../core/errors.js';
import { MIGRATIONS } from './migrations.js';

/** One migration that this version of factum knows, and whether the schema has it. */
export interface MigrationState {
  version: number;
  name: string;
  /** When it was applied; absent while pending. */
  appliedAt?: Date;
}

/**
 * Every known migration with its state, read without changing anything: a schema that was never
 * migrated (no `migrations` table) has them all pending.
 */
export async function migrationStatus(client: SqlClient, names: SqlNames): Promise<MigrationState[]> {
  let applied = new Map<number, Date>();
  try {
    const table = await client.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${names.s}migrations`]);
    if (table.rows[0]?.present) {
      const rows = await client.query<{ version: number; applied_at: Date | string }>(`SELECT version, applied_at FROM ${names.s}migrations`);
      applied = new Map(rows.rows.map((r) => [Number(r.version), new Date(r.applied_at)]));
    }
  } catch (error) {
    const code = isConnectionFailure(error) ? 'CONNECTION_FAILED' : 'STORAGE_ERROR';
    throw new FactumError(code, `Reading the migrations of schema "${names.schema}" failed: ${(error as Error).message}`, { cause: error });
  }
  return [...MIGRATIONS]
    .sort((a, b) => a.version - b.version)
    .map((m) => ({ version: m.version, name: m.name, ...(applied.has(m.version) ? { appliedAt: applied.get(m.version)! } : {}) }));
}
