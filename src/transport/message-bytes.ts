import type { BrokerMessage } from './broker-message.js';

/**
 * The size a broker compares with its `maxMessageBytes`: body plus header names and values, in
 * bytes. Every adapter counts the same way, so a message refused by one is refused by all.
 *
 * @example
 * if (messageBytes(message) > broker.capabilities.maxMessageBytes) console.log('too large')
 */
export function messageBytes(message: Pick<BrokerMessage, 'headers' | 'body'>): number {
  let bytes = message.body.byteLength;
  for (const [name, value] of Object.entries(message.headers)) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/**
 * True when the message is within `limit` bytes. Checked on every publish, so it first tries an
 * upper bound (3 UTF-8 bytes per UTF-16 unit at most), which settles nearly every message without
 * encoding its headers.
 *
 * @example
 * if (!fitsIn(message, broker.capabilities.maxMessageBytes)) console.log('too large')
 */
export function fitsIn(message: Pick<BrokerMessage, 'headers' | 'body'>, limit: number): boolean {
  let bound = message.body.byteLength;
  for (const name in message.headers) bound += 3 * (name.length + message.headers[name]!.length);
  return bound <= limit || messageBytes(message) <= limit;
}
