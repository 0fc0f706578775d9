import { FactumError } from '../../../core/errors.js';
import type { SqlClient } from '../sql-client.js';
import { isConnectionFailure } from '../connection-failure.js';
import { quoteIdent, type SqlNames } from '../sql-names.js';
import type { Migration } from './migration.js';
import { MIGRATIONS } from './migrations.js';

/**
 * Applies the migrations not yet applied, in order, in one transaction under an advisory lock,
 * so two processes starting at once neither collide nor apply anything twice.
 */
export async function migrate(client: SqlClient, names: SqlNames, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const [k1, k2] = names.migrationLock;
  try {
    return await client.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${k1}, ${k2})`);
      await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(names.schema)}`);
      await tx.query(
        `CREATE TABLE IF NOT EXISTS ${names.s}migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = await tx.query<{ version: number }>(`SELECT version FROM ${names.s}migrations`);
      const applied = new Set(done.rows.map((r) => Number(r.version)));
      const ran: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue;
        for (const statement of splitStatements(migration.sql(names))) await tx.query(statement);
        await tx.query(`INSERT INTO ${names.s}migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
        ran.push(migration.version);
      }
      return ran;
    });
  } catch (error) {
    // A database that cannot be reached has not failed a migration: the caller (and its
    // operator) must look at the network or the credentials, not at the schema.
    if (isConnectionFailure(error)) {
      throw new FactumError('CONNECTION_FAILED', `Migrating schema "${names.schema}" failed: the database connection failed: ${(error as Error).message}`, { cause: error });
    }
    throw new FactumError('MIGRATION_FAILED', `Migrating schema "${names.schema}" failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Splits on semicolons at the end of a line outside $fn$ bodies (enough for our own files). */
function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let inBody = false;
  for (const line of sql.split('\n')) {
    if (line.trim().startsWith('--') && !inBody) continue;
    current += line + '\n';
    if ((line.match(/\$fn\$/g) ?? []).length % 2 === 1) inBody = !inBody;
    if (!inBody && line.trimEnd().endsWith(';')) {
      statements.push(current.trim());
      current = '';
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
