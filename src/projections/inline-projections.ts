import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import type { QueryOptions, SqlQueryable } from '../core/sql-queryable.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import { installInlineHook } from '../store/inline-hook.js';
import { sqlAccess, storageError } from '../store/sql-access.js';
import { ServiceKey, storeServices } from '../store/store-services.js';
import { ensureProjectionTables } from './projection-runner.js';
import { projectionHandler, tableNamer, type Projection } from './projection.js';

type Entry = { projection: Projection; table: (name: string) => string; owner: InlineProjections };

/** What runs in a store's appends: every started `InlineProjections` of the store, one hook. */
class InlineHookSet {
  private readonly entries = new Map<string, Entry>();

  private constructor(private readonly store: EventStore) {}

  private static readonly key = new ServiceKey<InlineHookSet>('projections.inline');

  static of(store: EventStore): InlineHookSet {
    return storeServices(store).get(InlineHookSet.key, () => new InlineHookSet(store));
  }

  /** A projection of a name already running is replaced: the latest start wins. */
  add(owner: InlineProjections): void {
    const schema = sqlAccess(this.store)?.names.s;
    for (const projection of owner.projections) this.entries.set(projection.name, { projection, table: tableNamer(projection, schema), owner });
    this.install();
  }

  /** Removes what `owner` added and still holds (not what a later start took over). */
  remove(owner: InlineProjections): void {
    for (const projection of owner.projections) if (this.entries.get(projection.name)?.owner === owner) this.entries.delete(projection.name);
    this.install();
  }

  private install(): void {
    if (this.entries.size === 0) {
      installInlineHook(this.store, undefined);
      return;
    }
    const entries = [...this.entries.values()].map((entry) => ({ ...entry, operation: `inline projection "${entry.projection.name}"` }));
    installInlineHook(
      this.store,
      storeCapabilities(this.store).sql
        ? async (events: RecordedEvent[], tx: SqlQueryable | undefined) => {
            for (const event of events) {
              for (const { projection, table, operation } of entries) {
                const handler = projectionHandler(projection, event.type);
                if (handler) await handler(event, { ...(tx ? { sql: failingAsStorageErrors(tx, operation) } : {}), subscription: projection.name, attempt: 1, table });
              }
            }
          }
        : (events: RecordedEvent[]) => {
            for (const event of events) {
              for (const { projection, table } of entries) {
                const result = projectionHandler(projection, event.type)?.(event, { subscription: projection.name, attempt: 1, table });
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
 * What `InlineProjections.status()` tells.
 *
 * @example
 * inline.status() // { state: 'running', projections: ['customer-orders'] }
 */
export interface InlineProjectionsStatus {
  /** `'running'` from `start` to `stop`: the projections run in every append made meanwhile. */
  state: 'running' | 'stopped';
  /** The projections' names. */
  projections: string[];
}

/**
 * Projections that run inside the append itself: on SQL stores in the append's transaction (the
 * read model can never disagree with the log: both commit or neither does), on the memory store
 * synchronously before the events are recorded (its handlers must not return promises). A
 * handler that throws cancels the append. Appends with no inline projection started keep their
 * single round trip. A runner like the others (start, stop, status, waitFor), with nothing to
 * catch up: an append returns once its read model is written.
 *
 * @example
 * const inline = await new InlineProjections(store, [orderTotals]).start()
 * await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }]) // totals updated in the same transaction
 * await inline.stop()
 */
export class InlineProjections {
  private state: InlineProjectionsStatus['state'] = 'stopped';

  constructor(
    private readonly store: EventStore,
    readonly projections: readonly Projection[],
  ) {}

  /** Creates the projections' missing tables (SQL stores), then runs them in every append. Resolves to the runner. */
  async start(): Promise<this> {
    if (!storeCapabilities(this.store).inlineHooks) throw new FactumError('INVALID_ARGUMENT', `Inline projections need a store that runs hooks in its appends (memory, PGlite or PostgreSQL), not the ${this.store.kind} store`);
    const sql = sqlAccess(this.store);
    if (sql) for (const projection of this.projections) await ensureProjectionTables(sql.client, sql.names.s, projection);
    InlineHookSet.of(this.store).add(this);
    this.state = 'running';
    return this;
  }

  /** Stops running these projections in appends (appends already under way still run them). */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    InlineHookSet.of(this.store).remove(this);
    this.state = 'stopped';
  }

  status(): InlineProjectionsStatus {
    return { state: this.state, projections: this.projections.map((p) => p.name) };
  }

  /**
   * Read-your-writes, as on every runner: resolves at once while running, since an append that
   * returned has written its read model. Rejects with `WAIT_TIMEOUT` when stopped (the events
   * appended since are not in the read model).
   */
  async waitFor(position: bigint, _options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state !== 'running') {
      throw new FactumError('WAIT_TIMEOUT', `Inline projections ${this.status().projections.join(', ')} are stopped: position ${position} may not be in their read model`, {
        details: { position: position.toString() },
      });
    }
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
