import type { ProjectionContext, SqlQueryable } from '../../../src/index.js';

/** The handler's transaction: the shop's read models are SQL tables, written in the same transaction as the checkpoint (or the append). */
export function sqlOf(context: ProjectionContext): SqlQueryable {
  if (!context.sql) throw new Error('The shop read models live in SQL tables: run it on PGlite or PostgreSQL');
  return context.sql;
}
