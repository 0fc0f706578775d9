import type { MsgHdrs } from '@nats-io/transport-node';
import type { BrokerMessage } from '../broker-message.js';

/**
 * Headers starting with this belong to factum's bookkeeping (the key, dead-letter reasons, a
 * retry addressed to one group) and are not handed back as message headers.
 */
export const INTERNAL_HEADER_PREFIX = 'x-factum-';

/** The message id travels in its own header too: a retried dead letter needs a fresh `Nats-Msg-Id`. */
export const ID_HEADER = `${INTERNAL_HEADER_PREFIX}id`;
export const KEY_HEADER = `${INTERNAL_HEADER_PREFIX}key`;

/**
 * A broker message's headers for NATS (the id and key included); `makeHeaders` is nats.js' `headers()`,
 * passed in because the driver is loaded lazily.
 *
 * @example
 * await js.publish(subject, message.body, { msgID: message.id, headers: toNatsHeaders(message, headers) })
 */
export function toNatsHeaders(message: BrokerMessage, makeHeaders: () => MsgHdrs, extra: Record<string, string> = {}): MsgHdrs {
  const h = makeHeaders();
  // append, not set: the names are unique here, and set looks every name up twice among those already there.
  for (const [name, value] of Object.entries({ ...message.headers, [ID_HEADER]: message.id, [KEY_HEADER]: message.key, ...extra })) h.append(name, value);
  return h;
}

/** Every header of a NATS message as strings, factum's internal ones included. */
export function rawHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const name of h.keys()) out[name] = h.get(name);
  return out;
}

/** The inverse of `toNatsHeaders`, for a consumed message. */
export function fromNats(h: MsgHdrs | undefined, data: Uint8Array): BrokerMessage {
  const raw = rawHeaders(h);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name.startsWith(INTERNAL_HEADER_PREFIX) || name.startsWith('Nats-')) continue;
    headers[name] = value;
  }
  return { id: raw[ID_HEADER] ?? raw['Nats-Msg-Id'] ?? '', key: raw[KEY_HEADER] ?? '', headers, body: Buffer.from(data) };
}
