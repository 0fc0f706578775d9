import { FactumError } from '../core/errors.js';
import type { RecordedEvent } from '../core/message.js';
import type { HandlerContext } from '../consumers/subscription.js';

/**
 * What a projection handler gets beside the event. No `append`: a read model is rebuilt by
 * replaying the log, and an append made by a projection would be made again on every rebuild.
 */
export interface ProjectionContext extends Omit<HandlerContext, 'append' | 'store' | 'committed'> {
  /**
   * The quoted, schema-qualified name of one of the projection's tables, as it is *now*: the
   * live table, or its fresh copy while a rebuild replays into it. Always write through it.
   */
  table(name: string): string;
}

/** Applies one event to the read model. */
export type ProjectionHandler<E extends RecordedEvent = RecordedEvent> = (event: E, context: ProjectionContext) => Promise<void> | void;

/** A projection: a name, the read model's tables (SQL stores), and handlers by event type. */
export interface ProjectionDefinition {
  /** Names the checkpoint (async projections) and the rebuild's state. Stable across releases. */
  name: string;
  /**
   * The read model's tables on SQL stores: logical name → the DDL creating it under the given
   * physical name (`(t) => \`CREATE TABLE ${t} (id text PRIMARY KEY, total numeric)\``). A
   * rebuild runs the same DDL for its fresh copy. Create indexes with names derived from `t`.
   */
  tables?: Record<string, (table: string) => string>;
  /** Handlers by event type; events of other types are never read. */
  handlers: Record<string, ProjectionHandler>;
  /**
   * Optional: applies a whole batch of events (of the handled types, in log order) at once,
   * e.g. one multi-row statement instead of one per event. Rebuilds use it when present, which
   * is where replaying millions of events one round trip at a time would hurt; it must have the
   * same effect as the handlers applied one by one.
   */
  batchHandler?: (events: RecordedEvent[], context: ProjectionContext) => Promise<void> | void;
}

/** A checked projection definition. */
export interface Projection extends ProjectionDefinition {
  /** The event types it handles (the subscription filter). */
  readonly eventTypes: string[];
}

/**
 * Defines a projection. Run it inline (in the append's transaction, see `InlineProjections`)
 * or asynchronously (on a subscription, see `ProjectionRunner`), and rebuild it with
 * `rebuildProjection`.
 *
 * @example
 * const orderTotals = defineProjection({
 *   name: 'order-totals',
 *   tables: { totals: (t) => `CREATE TABLE ${t} (order_id text PRIMARY KEY, total numeric NOT NULL)` },
 *   handlers: {
 *     OrderPlaced: async (event, { sql, table }) => {
 *       await sql!.query(`INSERT INTO ${table('totals')} VALUES ($1, $2)`, [event.streamId, (event.data as { total: number }).total])
 *     },
 *   },
 * })
 */
export function defineProjection(definition: ProjectionDefinition): Projection {
  if (!definition.name || /[^A-Za-z0-9_.:-]/.test(definition.name)) {
    throw new FactumError('INVALID_ARGUMENT', `Projection name "${definition.name}" must be letters, digits, and _ . : -`);
  }
  const eventTypes = Object.keys(definition.handlers);
  if (eventTypes.length === 0) throw new FactumError('INVALID_ARGUMENT', `Projection "${definition.name}" has no handlers`);
  for (const table of Object.keys(definition.tables ?? {})) {
    if (!/^[a-z_][a-z0-9_]{0,50}$/.test(table)) throw new FactumError('INVALID_ARGUMENT', `Projection table name "${table}" must be lower-case letters, digits and _ (at most 51)`);
  }
  return { ...definition, eventTypes };
}

/** Physical table names of a projection: live (`suffix` empty) or a rebuild's copy. */
export function tableNamer(projection: ProjectionDefinition, schemaPrefix: string | undefined, suffix = ''): (name: string) => string {
  return (name: string) => {
    if (!projection.tables || !(name in projection.tables)) {
      throw new FactumError('INVALID_ARGUMENT', `Projection "${projection.name}" declares no table "${name}"`);
    }
    return schemaPrefix === undefined ? `${name}${suffix}` : `${schemaPrefix}"${name}${suffix}"`;
  };
}

/** Runs the handler of the event's type, if any. */
export async function applyProjection(projection: ProjectionDefinition, event: RecordedEvent, context: ProjectionContext): Promise<void> {
  const handler = projection.handlers[event.type];
  if (handler) await handler(event, context);
}
