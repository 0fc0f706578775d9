import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { consumerStorageFor } from '../consumers/consumer-storage.js';
import { sleep } from '../core/sleep.js';
import { sqlAccess } from '../store/sql-access.js';
import { tableNamer, type ProjectionDefinition } from './projection.js';

/**
 * A projection's read model as its readers see it: `table(name)` names one of its tables the
 * way its handlers do (quoted and schema-qualified), and `query` runs a statement on the store's
 * own SQL client. So reading a read model never needs the store's schema or naming rules.
 *
 * @example
 * const lowest = async (stock: ReadModel<'stock_levels'>) =>
 *   (await stock.query(`SELECT sku FROM ${stock.table('stock_levels')} ORDER BY on_hand LIMIT 1`)).rows[0]
 */
export interface ReadModel<Table extends string = string> extends SqlQueryable {
  /** The quoted, schema-qualified name of one of the projection's live tables. */
  table(name: Table): string;
  /**
   * Resolves once the projection's runner, in this process or another, has checkpointed
   * `position`: read-your-writes for a reader that does not run the projection. For an async
   * projection (an inline one is written with the append). `WAIT_TIMEOUT` after `timeoutMs` (5 s).
   */
  waitFor(position: bigint, options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * The read model of `projection` on a SQL store (PGlite or PostgreSQL), for reading it. Throws
 * `INVALID_ARGUMENT` on a store without SQL (the memory store keeps no tables).
 *
 * @example
 * const totals = readModel(store, orderTotals)
 * await totals.waitFor(lastPosition) // read-your-writes, wherever the runner runs
 * const { rows } = await totals.query<{ total: string }>(`SELECT total FROM ${totals.table('totals')} WHERE order_id = $1`, ['order-1'])
 */
export function readModel<Table extends string>(store: EventStore, projection: ProjectionDefinition<any, Table>): ReadModel<Table> {
  const sql = sqlAccess(store);
  if (!sql) {
    throw new FactumError('INVALID_ARGUMENT', `Projection "${projection.name}" keeps its read model in SQL tables: the ${store.kind} store has none`, {
      details: { projection: projection.name },
    });
  }
  const table = tableNamer(projection, sql.names.s);
  const checkpoints = consumerStorageFor(store);
  return {
    table,
    query: (text, params, options) => sql.client.query(text, params, options),
    async waitFor(position, { timeoutMs = 5000 } = {}) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        // Polled: the runner may be in another process, and a checkpoint row sends no wake-up.
        const reached = (await checkpoints.readCheckpoint(projection.name))?.position;
        if (reached !== undefined && reached >= position) return;
        if (Date.now() >= until) {
          throw new FactumError('WAIT_TIMEOUT', `Projection "${projection.name}" did not reach position ${position} within ${timeoutMs} ms`, {
            details: { projection: projection.name, position: position.toString(), reached: reached?.toString() ?? null },
          });
        }
        await sleep(10);
      }
    },
  };
}
