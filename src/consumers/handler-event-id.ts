import { createHash } from 'node:crypto';

/**
 * The id of the `index`-th event of the `call`-th append that `subscription`'s handler makes
 * for the event `handledId`: a name-based UUID (version 8, SHA-256, RFC 9562), the same on
 * every delivery of that event. A handler re-run after a crash then appends events the store
 * already holds, and the store's idempotent append absorbs them instead of writing them twice.
 *
 * @example
 * handlerEventId('order-emails', event.id, 0, 0) // same string on every delivery of `event`
 */
export function handlerEventId(subscription: string, handledId: string, call: number, index: number): string {
  const bytes = createHash('sha256').update(`factum.handler\u0000${subscription}\u0000${handledId}\u0000${call}\u0000${index}`).digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
