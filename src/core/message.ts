/** A JSON value as stored: what `JSON.parse` can return. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Free-form event metadata; the well-known keys tie events into causation chains. */
export interface EventMetadata {
  /** The id shared by every message of one business flow (e.g. the order id). */
  correlationId?: string;
  /** The id of the message (command or event) that caused this event. */
  causationId?: string;
  /** Who caused it, for audit. */
  userId?: string;
  [key: string]: JsonValue | undefined;
}

/**
 * An event to append: a fact, named in the past tense.
 *
 * @example
 * const placed: NewEvent = { type: 'OrderPlaced', data: { orderId: 'o-1', total: 42 } }
 */
export interface NewEvent<Type extends string = string, Data = unknown> {
  /** UUID; a UUIDv7 is generated when absent. Supplying it makes retries idempotent. */
  id?: string;
  type: Type;
  data: Data;
  metadata?: EventMetadata;
  /** Version of the `data` shape, for upcasting; 1 when absent. */
  schemaVersion?: number;
}

/** An event as the log holds it. */
export interface RecordedEvent<Type extends string = string, Data = unknown> {
  id: string;
  type: Type;
  data: Data;
  metadata: EventMetadata;
  schemaVersion: number;
  streamId: string;
  /** 1 for the first event of a stream, then +1 per event. */
  streamVersion: number;
  /** Position in `$all`; increases with every append but may have holes (rolled-back writes). */
  globalPosition: bigint;
  recordedAt: Date;
}

/**
 * What a union of event types is made of: a `type` and the `data` that goes with it. Both
 * `NewEvent` and `RecordedEvent` unions fit, as do the events of an `EventRegistry`.
 */
export interface EventShape {
  type: string;
  data: unknown;
}

/**
 * Each event of a union as recorded, so that checking `type` narrows `data`.
 *
 * @example
 * type OrderEvent = NewEvent<'OrderPlaced', { total: number }> | NewEvent<'OrderCancelled', { reason: string }>
 * const total = (event: RecordedOf<OrderEvent>) => (event.type === 'OrderPlaced' ? event.data.total : 0)
 */
export type RecordedOf<E extends EventShape> = E extends unknown ? RecordedEvent<E['type'], E['data']> : never;

/**
 * Each event of a union as appended: only its types, each with its own data.
 *
 * @example
 * const events: NewOf<OrderEvent>[] = [{ type: 'OrderPlaced', data: { total: 42 } }]
 */
export type NewOf<E extends EventShape> = E extends unknown ? NewEvent<E['type'], E['data']> : never;

/**
 * What the writer believes about the stream before appending:
 * - `'any'`: no check;
 * - `'no_stream'`: the stream does not exist (never written, or soft-deleted);
 * - `'stream_exists'`: the stream exists;
 * - a number: the stream's current version is exactly this (0 = no events yet).
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

/** The outcome of an append. */
export interface AppendResult {
  /** The stream's version after the append (the last event's version). */
  nextExpectedVersion: number;
  /** Global position of the last appended event. */
  lastPosition: bigint;
  /** Global positions of the events in order. */
  positions: bigint[];
  /** True when every event was already there (an idempotent retry): nothing was written. */
  alreadyAppended: boolean;
}

/**
 * The category of a stream: the part of its id before the first `-` (`order-42` → `order`).
 *
 * @example
 * streamCategory('order-42') // 'order'
 * await store.readAll({ categories: [streamCategory(streamId)] })
 */
export function streamCategory(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}

/** Renders an expected version for messages and error details. */
export function describeExpectedVersion(expected: ExpectedVersion): string {
  return typeof expected === 'number' ? `version ${expected}` : expected;
}
