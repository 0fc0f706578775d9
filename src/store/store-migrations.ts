import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { migrate } from './sql/migrations/migrate.js';
import { migrationStatus, type MigrationState } from './sql/migrations/migration-status.js';
import { sqlAccess } from './sql-access.js';

export type { MigrationState } from './sql/migrations/migration-status.js';

/**
 * The schema migrations of a SQL store (PostgreSQL, PGlite): each one this version of factum
 * knows, with `appliedAt` once applied. Changes nothing, so it is safe on a store opened with
 * `migrate: false`. Other stores have no schema: `INVALID_ARGUMENT`.
 *
 * @example
 * const store = await openEventStore(url, { migrate: false })
 * const pending = (await storeMigrations(store)).filter((m) => !m.appliedAt)
 * if (pending.length > 0) console.log(`${pending.length} migrations to apply`)
 */
export async function storeMigrations(store: EventStore): Promise<MigrationState[]> {
  const sql = sqlOf(store);
  return migrationStatus(sql.client, sql.names);
}

/**
 * Applies the pending migrations of a SQL store, in order, in one transaction (two processes at
 * once apply nothing twice); resolves with the versions it applied (`[]` when current).
 *
 * @example
 * const applied = await applyMigrations(await openEventStore(url, { migrate: false }))
 */
export async function applyMigrations(store: EventStore): Promise<number[]> {
  const sql = sqlOf(store);
  return migrate(sql.client, sql.names);
}

function sqlOf(store: EventStore) {
  const sql = sqlAccess(store);
  if (!sql) throw new FactumError('INVALID_ARGUMENT', 'Only SQL stores (PostgreSQL, PGlite) have schema migrations');
  return sql;
}
