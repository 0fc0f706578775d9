import type { MsgHdrs } from '@nats-io/transport-node';
import { messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage } from '../broker-message.js';

/**
 * Headers starting with this belong to factum's bookkeeping (the key, dead-letter reasons, a
 * retry addressed to one group) and are not handed back as message headers.
 */
export const INTERNAL_HEADER_PREFIX = 'x-factum-';

/** The message id travels in its own header too: a retried dead letter needs a fresh `Nats-Msg-Id`. */
export const ID_HEADER = `${INTERNAL_HEADER_PREFIX}id`;
export const KEY_HEADER = `${INTERNAL_HEADER_PREFIX}key`;

/** nats.js' `MsgHdrsImpl.fromRecord`: headers taken as given, passed in because the driver is loaded lazily. */
export type HeadersFromRecord = (record: Record<string, string[]>) => MsgHdrs;

/** Header names already found valid: a handful of names, checked once each (at most this many kept). */
const validNames = new Set<string>();
const MAX_VALID_NAMES = 1000;

/**
 * A broker message's headers for NATS (the id and key included). They are checked here and
 * handed to nats.js as a record: its `append` canonicalises every name and tests every value
 * with a regular expression; building the relay's headers so took twice as long (15 µs against
 * 7.6 µs per message in a microbenchmark on a loaded machine). A name NATS cannot carry (outside printable ASCII, or with a colon) or a value with a
 * CR or LF is refused for good (`MESSAGE_REFUSED`, reason `invalid_header`): sent again it would
 * fail again.
 *
 * @example
 * await js.publish(subject, message.body, { msgID: message.id, headers: toNatsHeaders(message, MsgHdrsImpl.fromRecord) })
 */
export function toNatsHeaders(message: BrokerMessage, fromRecord: HeadersFromRecord, extra?: Record<string, string>): MsgHdrs {
  const record: Record<string, string[]> = {};
  const add = (name: string, value: string): void => {
    if (!validNames.has(name)) {
      if (!isHeaderName(name)) throw invalidHeader(message, `its header name ${JSON.stringify(name)} is not printable ASCII without a colon`);
      if (validNames.size < MAX_VALID_NAMES) validNames.add(name);
    }
    if (value.includes('\n') || value.includes('\r')) throw invalidHeader(message, `its header ${name} holds a line break`);
    record[name] = [value];
  };
  for (const name in message.headers) add(name, message.headers[name]!);
  add(ID_HEADER, message.id);
  add(KEY_HEADER, message.key);
  if (extra !== undefined) for (const name in extra) add(name, extra[name]!);
  return fromRecord(record);
}

/** A header name as NATS (like MIME) takes it: printable ASCII, no colon. */
function isHeaderName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return false;
  }
  return true;
}

const invalidHeader = (message: BrokerMessage, why: string) => messageRefusedError('NATS', message.id, 'invalid_header', `NATS cannot carry it: ${why}`);

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
