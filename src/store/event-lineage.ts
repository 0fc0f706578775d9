import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import { isUuid } from '../core/uuid.js';
import { sqlAccess } from './sql-access.js';

/** One event, what caused it, and the rest of its flow. */
export interface EventLineage {
  event: RecordedEvent;
  /** Its causes, nearest first: the event named by its `causationId`, that event's cause, and so on. */
  causes: RecordedEvent[];
  /** The events that share its `correlationId`, in log order (itself included), up to `limit`. */
  correlated: RecordedEvent[];
  /** True when more events share the correlation id than `correlated` holds. */
  moreCorrelated: boolean;
}

/**
 * Finds an event by id on a SQL store, with its causation chain (followed through
 * `metadata.causationId` while it names an event of the log) and the other events of its
 * correlation. For operators (the CLI's `factum event <id>`): the lookup by id uses the log's
 * unique index; the correlation is a scan of the log's metadata, fine for an investigation, not
 * for a request path. Resolves undefined when no event has that id.
 *
 * @example
 * const lineage = await eventLineage(store, '0190c1d2-…')
 * if (lineage) console.log(lineage.causes.map((e) => e.type).join(' <- '))
 */
export async function eventLineage(store: EventStore, eventId: string, options: { limit?: number } = {}): Promise<EventLineage | undefined> {
  const sql = sqlAccess(store);
  if (!sql) throw new FactumError('INVALID_ARGUMENT', 'Looking events up by id needs a SQL store (PostgreSQL, PGlite)');
  if (!isUuid(eventId)) throw new FactumError('INVALID_ARGUMENT', `"${eventId}" is not an event id (a UUID)`, { details: { eventId } });
  const limit = options.limit ?? 1000;
  const select = `SELECT ${sql.eventColumns} FROM ${sql.names.s}events e`;
  const byId = async (id: string) => {
    const { rows } = await sql.client.query<RecordedEvent>(`${select} WHERE e.event_id = $1`, [id], { parsers: sql.eventParsers });
    return rows[0];
  };
  try {
    const event = await byId(eventId);
    if (!event) return undefined;
    const causes: RecordedEvent[] = [];
    const seen = new Set([event.id]);
    for (let cause = event.metadata.causationId; cause && isUuid(cause) && !seen.has(cause); ) {
      const found = await byId(cause);
      if (!found) break;
      causes.push(found);
      seen.add(found.id);
      cause = found.metadata.causationId;
    }
    const correlationId = event.metadata.correlationId;
    let correlated = [event];
    let moreCorrelated = false;
    if (correlationId) {
      const { rows } = await sql.client.query<RecordedEvent>(
        `${select} WHERE e.metadata->>'correlationId' = $1 ORDER BY e.global_position LIMIT $2`,
        [correlationId, limit + 1],
        { parsers: sql.eventParsers },
      );
      moreCorrelated = rows.length > limit;
      correlated = rows.slice(0, limit);
    }
    return { event, causes, correlated, moreCorrelated };
  } catch (error) {
    throw sql.storageError(`Looking up event ${eventId}`, error);
  }
}
