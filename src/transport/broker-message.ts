import type { FactumError } from '../core/errors.js';

/**
 * A message as every broker carries it: an id (the event's id, so a re-publish can be recognised),
 * a key (the stream id: one key's messages keep their order), string headers and a body.
 *
 * @example
 * const message: BrokerMessage = { id: event.id, key: event.streamId, headers: { 'factum-event-type': 'OrderPlaced' }, body: Buffer.from('{}') }
 */
export interface BrokerMessage {
  id: string;
  /** The ordering key; factum uses the stream id. */
  key: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * What the broker answered for one published message, in the order of the batch:
 * - `confirmed`: the broker took responsibility for it (persisted, replicated where it applies);
 * - `refused`: the broker will never take it (unroutable, too large, nacked, a header it cannot carry); `error.code` is
 *   `MESSAGE_REFUSED` and `error.details.reason` says why. Publishing it again will not help;
 * - `unavailable`: the broker could not be reached or the connection dropped before the confirm;
 *   `error.code` is `BROKER_UNAVAILABLE`. The message may or may not have arrived: publish it again.
 *
 * @example
 * const failed = results.filter((r) => r.status !== 'confirmed')
 */
export type PublishResult =
  | { messageId: string; status: 'confirmed' }
  | { messageId: string; status: 'refused'; error: FactumError }
  | { messageId: string; status: 'unavailable'; error: FactumError };

/** Why a broker refused a message for good (`error.details.reason` of a refusal). */
export type RefusalReason = 'unroutable' | 'too_large' | 'nacked' | 'invalid_header';
