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
