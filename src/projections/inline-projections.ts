import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import type { QueryOptions, SqlQueryable } from '../core/sql-queryable.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import { installInlineHook } from '../store/inline-hook.js';
import { sqlAccess, storageError } from '../store/sql-access.js';
import { ServiceKey, storeServices } from '../store/store-services.js';
import { ensureProjectionTables } from './projection-runner.js';
import { tableNamer, type Projection } from './projection.js';

const INLINE_PROJECTIONS = new ServiceKey<InlineProjections>('projections.inline');

/**
 * Projections that run inside the append itself: on SQL stores in the append's transaction (the
 * read model can never disagree with the log: both commit or neither does), on the memory store
 * synchronously before the events are recorded (its handlers must not return promises). A
 * handler that throws cancels the append. Appends with no inline projection registered keep
 * their single round trip.
 *
 * @example
 * const inline = await InlineProjections.register(store, orderTotals)
 * await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }]) // totals updated in the same transaction
 * inline.unregister(orderTotals)
 */
export class InlineProjections {
  private readonly projections = new Map<string, { projection: Projection; table: (name: string) => string }>();

  private constructor(private readonly store: EventStore) {}

  /** Registers projections on a store (creating their tables on SQL stores); returns the store's registry. */
  static async register(store: EventStore, ...projections: Projection[]): Promise<InlineProjections> {
    if (!storeCapabilities(store).inlineHooks) throw new FactumError('INVALID_ARGUMENT', `Inline projections need a store that runs hooks in its appends (memory, PGlite or PostgreSQL), not the ${store.kind} store`);
    const registry = storeServices(store).get(INLINE_PROJECTIONS, () => new InlineProjections(store));
    const sql = sqlAccess(store);
    for (const projection of projections) {
      if (sql) await ensureProjectionTables(sql.client, sql.names.s, projection);
      registry.projections.set(projection.name, { projection, table: tableNamer(projection, sql?.names.s) });
    }
    registry.install();
    return registry;
  }

  /** Stops running these projections in appends. */
  unregister(...projections: Projection[]): void {
    for (const projection of projections) this.projections.delete(projection.name);
    this.install();
  }

  /** The names of the registered projections. */
  names(): string[] {
    return [...this.projections.keys()];
  }

  private install(): void {
    if (this.projections.size === 0) {
      installInlineHook(this.store, undefined);
      return;
    }
    const entries = [...this.projections.values()].map((entry) => ({ ...entry, operation: `inline projection "${entry.projection.name}"` }));
    installInlineHook(
      this.store,
      storeCapabilities(this.store).sql
        ? async (events: RecordedEvent[], tx: SqlQueryable | undefined) => {
            for (const event of events) {
              for (const { projection, table, operation } of entries) {
                const handler = projection.handlers[event.type];
                if (handler) await handler(event, { ...(tx ? { sql: failingAsStorageErrors(tx, operation) } : {}), subscription: projection.name, attempt: 1, table });
              }
            }
          }
        : (events: RecordedEvent[]) => {
            for (const event of events) {
              for (const { projection, table } of entries) {
                const handler = projection.handlers[event.type];
                const result = handler?.(event, { subscription: projection.name, attempt: 1, table });
                if (result && typeof (result as Promise<void>).then === 'function') {
                  throw new FactumError('INVALID_ARGUMENT', `Inline projection "${projection.name}" returned a promise: on the memory store inline handlers must be synchronous`);
                }
              }
            }
          },
    );
  }
}

/**
 * The append's transaction as a handler sees it: a statement that fails (a constraint, a lost
 * connection) rejects with `STORAGE_ERROR` naming the projection, with the driver's error as
 * `cause`, like every other database failure of an append. What a handler throws itself
 * reaches the caller unchanged.
 */
function failingAsStorageErrors(tx: SqlQueryable, operation: string): SqlQueryable {
  return {
    query: <Row>(sql: string, params?: unknown[], options?: QueryOptions) =>
      tx.query<Row>(sql, params, options).catch((error: unknown) => {
        throw storageError(operation, error);
      }),
  };
}
