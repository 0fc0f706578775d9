import type { RecordedEvent } from '../core/message.js';
import type { PreparedEvent } from '../core/validation.js';

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
