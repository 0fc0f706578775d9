import type { SqlNames } from '../sql-names.js';

/**
 * One numbered schema change, in `migrations/<version>-<what>.ts` and listed in order in
 * `migrations.ts`. Never edit a released migration: add the next number.
 */
export interface Migration {
  version: number;
  name: string;
  sql: (n: SqlNames) => string;
}
