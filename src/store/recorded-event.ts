import type { RecordedEvent } from '../core/message.js';
import type { PreparedEvent } from '../core/validation.js';

/** A row of the SQL events table as the drivers return it (int8 as string or number). */
export interface EventRow {
  global_position: string | number;
  event_id: string;
  stream_id: string;
  stream_version: string | number;
  event_type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  schema_version: number;
  recorded_at: Date;
}

/** The columns of an `EventRow`, for SELECTs on the events table aliased `e`. */
export const EVENT_COLUMNS = 'e.global_position, e.event_id, e.stream_id, e.stream_version, e.event_type, e.data, e.metadata, e.schema_version, e.recorded_at';

export function rowToRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.event_type,
    data: row.data,
    metadata: row.metadata,
    schemaVersion: Number(row.schema_version),
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    globalPosition: BigInt(row.global_position),
    recordedAt: row.recorded_at,
  };
}

/**
 * The event a store has just written, built from what it sent (parsed back from its JSON, so
 * the caller's objects are never shared with readers) and where it landed.
 */
export function preparedToRecorded(e: PreparedEvent, streamId: string, streamVersion: number, globalPosition: bigint, recordedAt: Date): RecordedEvent {
  return {
    id: e.id,
    type: e.type,
    data: JSON.parse(e.dataJson) as unknown,
    metadata: JSON.parse(e.metadataJson) as RecordedEvent['metadata'],
    schemaVersion: e.schemaVersion,
    streamId,
    streamVersion,
    globalPosition,
    recordedAt,
  };
}
