import type { Logger } from '../core/logger.js';
import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { RetryPolicy } from '../core/retry-policy.js';
import { Subscription, type DrainResult, type SubscriptionStatus } from '../consumers/subscription.js';
import type { DeadLetter } from '../consumers/consumer-storage.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { sqlAccess } from '../store/sql-access.js';
import { applyProjection, tableNamer, type Projection, type ProjectionDefinition } from './projection.js';

/** Options of `new ProjectionRunner(store, projection, options)`. */
export interface ProjectionRunnerOptions {
  /** Events per transaction; 100 by default. */
  batchSize?: number;
  retry?: RetryPolicy;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
  /** Where errors, dead letters and state changes are logged (pino-compatible); silent by default. */
  logger?: Logger;
  /**
   * Commit read-model transactions without waiting for the WAL flush; true by default. The read
   * model is derived from the log: a server crash may lose its last few milliseconds, together
   * with the checkpoint, and they are replayed. Set false if handlers have outside effects.
   */
  relaxedDurability?: boolean;
  /** One active runner at a time, others wait to take over (see `SubscriptionOptions.standby`). */
  standby?: boolean;
  /** How long a standby waits for a runner that stopped renewing; 3,000 ms by default. */
  leaseMs?: number;
}

/** Creates the projection's tables that do not exist yet (SQL stores). */
export async function ensureProjectionTables(on: SqlQueryable, schemaPrefix: string, projection: ProjectionDefinition, suffix = ''): Promise<void> {
  const name = tableNamer(projection, schemaPrefix, suffix);
  for (const [table, ddl] of Object.entries(projection.tables ?? {})) {
    const { rows } = await on.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [name(table)]);
    if (rows[0]?.found === null || rows[0]?.found === undefined) await on.query(ddl(name(table)));
  }
}

/**
 * Runs a projection asynchronously on a subscription. On SQL stores each batch of events
 * updates the read model and the checkpoint in one transaction, so a crash between the two
 * cannot apply an event twice or lose one. `waitFor(position)` gives read-your-writes.
 *
 * Batches run without a savepoint per event. A handler that throws rolls its batch back; the
 * batch runs again with the events before it handled a second time (harmless: their first run
 * was rolled back, and a projection handler writes nothing but its `sql`), and the failing event
 * is retried and dead-lettered as a subscription's is, its stream parked, the others flowing.
 * So keep every effect of a handler in `sql`: for emails or brokers use a `Subscription`.
 *
 * @example
 * const runner = await new ProjectionRunner(store, orderTotals).start()
 * const { lastPosition } = await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }])
 * await runner.waitFor(lastPosition, { timeoutMs: 2000 }) // the read model now shows order-1
 */
export class ProjectionRunner {
  private readonly subscription: Subscription;

  constructor(
    private readonly store: EventStore,
    readonly projection: Projection,
    options: ProjectionRunnerOptions = {},
  ) {
    const sql = sqlAccess(store);
    const table = tableNamer(projection, sql?.names.s);
    this.subscription = new Subscription(store, {
      name: projection.name,
      filter: { types: projection.eventTypes },
      handler: (event, context) => applyProjection(projection, event, { ...context, table }),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      runnerKind: 'projection',
      relaxedDurability: options.relaxedDurability ?? true,
      // Its handlers write nothing but the read model through `sql`, so a rolled-back page can be
      // run again and no savepoint is paid per event (the memory store's handlers write elsewhere).
      ...(sql ? { replayOnFailure: true } : {}),
      ...(options.standby ? { standby: true } : {}),
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    });
  }

  /** Creates missing tables, then starts the subscription from the projection's checkpoint. Resolves to the runner. */
  async start(): Promise<this> {
    const { store, projection } = this;
    const sql = sqlAccess(store);
    const tables = Object.keys(projection.tables ?? {});
    if (!sql && tables.length > 0) {
      // Its handlers write through `sql`, which only SQL stores give: every event would fail.
      throw new FactumError('INVALID_ARGUMENT', `Projection "${projection.name}" keeps its read model in SQL tables (${tables.join(', ')}): run it on PGlite or PostgreSQL, not on the memory store`, {
        details: { projection: projection.name, tables },
      });
    }
    if (sql) await ensureProjectionTables(sql.client, sql.names.s, projection);
    await this.subscription.start();
    return this;
  }

  /** Resolves once every event up to `position` is in the read model; `WAIT_TIMEOUT` after `timeoutMs`. */
  waitFor(position: bigint, options: { timeoutMs?: number } = {}): Promise<void> {
    return this.subscription.waitFor(position, options);
  }

  status(): SubscriptionStatus {
    return this.subscription.status();
  }

  lag(): ReturnType<Subscription['lag']> {
    return this.subscription.lag();
  }

  deadLetters(options?: { streamId?: string; status?: 'dead' | 'parked' }): Promise<DeadLetter[]> {
    return this.subscription.deadLetters(options);
  }

  retryDeadLetter(id: string): Promise<DrainResult> {
    return this.subscription.retryDeadLetter(id);
  }

  skipDeadLetter(id: string): Promise<DrainResult> {
    return this.subscription.skipDeadLetter(id);
  }

  stop(): Promise<void> {
    return this.subscription.stop();
  }

  done(): Promise<void> {
    return this.subscription.done();
  }
}
