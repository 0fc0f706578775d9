import type { RecordedEvent } from '../core/message.js';

/** A recorded event as plain JSON (the position as a string), for dead-letter rows. */
export function eventToJson(event: RecordedEvent): Record<string, unknown> {
  return { ...event, globalPosition: event.globalPosition.toString(), recordedAt: event.recordedAt.toISOString() };
}

/** The inverse of `eventToJson`. */
export function eventFromJson(json: Record<string, unknown>): RecordedEvent {
  return {
    ...(json as unknown as RecordedEvent),
    globalPosition: BigInt(json.globalPosition as string),
    recordedAt: new Date(json.recordedAt as string),
  };
}
