import { FactumError } from '../core/errors.js';
import type { EventShape, NewEvent, RecordedEvent, RecordedOf } from '../core/message.js';
import type { HandlerContext } from '../consumers/subscription.js';
import type { EventSource } from '../schema/event-registry.js';

/**
 * What a projection handler gets beside the event. No `append`: a read model is rebuilt by
 * replaying the log, and an append made by a projection would be made again on every rebuild.
 */
export interface ProjectionContext<Table extends string = string> extends Omit<HandlerContext, 'append' | 'store' | 'committed'> {
  /**
   * The quoted, schema-qualified name of one of the projection's tables, as it is *now*: the
   * live table, or its fresh copy while a rebuild replays into it. Always write through it.
   */
  table(name: Table): string;
}

/**
 * Applies one event to the read model. Written as a method type so that a handler of one event
 * type still fits where a handler of any event is expected (a list of projections, a runner).
 */
export type ProjectionHandler<E extends RecordedEvent = RecordedEvent, Table extends string = string> = {
  handle(event: E, context: ProjectionContext<Table>): Promise<void> | void;
}['handle'];

/**
 * A handler per event type of the union `E`, each given its own event (by the key's `type`).
 *
 * @example
 * const handlers: ProjectionHandlers<OrderEvent> = { OrderPlaced: (event) => console.log(event.data.total) }
 */
export type ProjectionHandlers<E extends EventShape = NewEvent, Table extends string = string> = {
  [K in E['type']]?: ProjectionHandler<RecordedOf<EventOfType<E, K>>, Table>;
};

/** The events of `E` of type `K`; all of `E` when its type is any string (an untyped projection). */
type EventOfType<E extends EventShape, K extends string> = E extends unknown ? (K extends E['type'] ? E : never) : never;

/**
 * A projection over the event union `E`, with read-model tables named `Table`: a name, the
 * tables (SQL stores), and handlers by event type.
 */
export interface ProjectionDefinition<E extends EventShape = NewEvent, Table extends string = string> {
  /** Names the checkpoint (async projections) and the rebuild's state. Stable across releases. */
  name: string;
  /**
   * The events it is defined over, when they come from a registry: the handlers are typed by
   * its event types, and a handler for a type the registry does not know is refused. Without
   * it, give the union as a type argument (`defineProjection<OrderEvent>({ ... })`).
   */
  events?: EventSource<E>;
  /**
   * The read model's tables on SQL stores: logical name → the DDL creating it under the given
   * physical name (`(t) => \`CREATE TABLE ${t} (id text PRIMARY KEY, total numeric)\``). A
   * rebuild runs the same DDL for its fresh copy. Create indexes with names derived from `t`.
   */
  tables?: Record<Table, (table: string) => string>;
  /** Handlers by event type; events of other types are never read. */
  handlers: ProjectionHandlers<E, NoInfer<Table>>;
  /**
   * Optional: applies a whole batch of events (of the handled types, in log order) at once,
   * e.g. one multi-row statement instead of one per event. Rebuilds use it when present, which
   * is where replaying millions of events one round trip at a time would hurt; it must have the
   * same effect as the handlers applied one by one.
   */
  batchHandler?: {
    handle(events: RecordedOf<E>[], context: ProjectionContext<NoInfer<Table>>): Promise<void> | void;
  }['handle'];
}

/** A checked projection definition. */
export interface Projection<E extends EventShape = NewEvent, Table extends string = string> extends ProjectionDefinition<E, Table> {
  /** The event types it handles (the subscription filter). */
  readonly eventTypes: string[];
}

/**
 * Defines a projection. Run it inline (in the append's transaction, see `InlineProjections`)
 * or asynchronously (on a subscription, see `ProjectionRunner`), and rebuild it with
 * `rebuildProjection`. Give the event union as the type argument (or pass `events: registry`)
 * and each handler gets its own event type, by its key. The table names are typed (in
 * `context.table` and `readModel`) when no type argument is written: TypeScript infers all or none.
 *
 * @example
 * type OrderEvent = NewEvent<'OrderPlaced', { total: number }> | NewEvent<'OrderCancelled', { reason: string }>
 * const orderTotals = defineProjection<OrderEvent>({
 *   name: 'order-totals',
 *   tables: { totals: (t) => `CREATE TABLE ${t} (order_id text PRIMARY KEY, total numeric NOT NULL)` },
 *   handlers: {
 *     OrderPlaced: async (event, { sql, table }) => {
 *       await sql!.query(`INSERT INTO ${table('totals')} VALUES ($1, $2)`, [event.streamId, event.data.total])
 *     },
 *   },
 * })
 */
export function defineProjection<E extends EventShape = NewEvent, Table extends string = string>(definition: ProjectionDefinition<E, Table>): Projection<E, Table> {
  if (!definition.name || /[^A-Za-z0-9_.:-]/.test(definition.name)) {
    throw new FactumError('INVALID_ARGUMENT', `Projection name "${definition.name}" must be letters, digits, and _ . : -`);
  }
  const eventTypes = Object.keys(definition.handlers);
  if (eventTypes.length === 0) throw new FactumError('INVALID_ARGUMENT', `Projection "${definition.name}" has no handlers`);
  const unknown = definition.events ? eventTypes.filter((type) => definition.events!.get(type) === undefined) : [];
  if (unknown.length > 0) {
    throw new FactumError('INVALID_ARGUMENT', `Projection "${definition.name}" handles ${unknown.join(', ')}, which its registry does not know`, {
      details: { projection: definition.name, types: unknown },
    });
  }
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

/** The handler of one event type, if the projection has one (handlers are typed by key; here any event goes). */
export function projectionHandler(projection: ProjectionDefinition, type: string): ProjectionHandler | undefined {
  return (projection.handlers as Record<string, ProjectionHandler | undefined>)[type];
}

/** Runs the handler of the event's type, if any. */
export async function applyProjection(projection: ProjectionDefinition, event: RecordedEvent, context: ProjectionContext): Promise<void> {
  const handler = projectionHandler(projection, event.type);
  if (handler) await handler(event, context);
}
