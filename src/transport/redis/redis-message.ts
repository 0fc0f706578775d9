import type { BrokerMessage } from '../broker-message.js';

/** Field set on a dead letter retried for one group: the topic's other groups pass over it. */
export const ONLY_GROUP_FIELD = 'only-group';

/**
 * A broker message as the fields of a stream entry: id, key, headers as JSON and the body in
 * base64 (entries are read as strings; base64 keeps any bytes intact).
 *
 * @example
 * await redis.xadd(stream, '*', ...toFields(message))
 */
export function toFields(message: BrokerMessage, extra: Record<string, string> = {}): string[] {
  const values = entryValues(message);
  const fields: string[] = [];
  ENTRY_FIELDS.forEach((name, i) => fields.push(name, values[i]!));
  for (const [name, value] of Object.entries(extra)) fields.push(name, value);
  return fields;
}

/** The names of a message entry's fields, in the order of `entryValues`. */
export const ENTRY_FIELDS = ['id', 'key', 'headers', 'body'] as const;

/**
 * The values of a message entry's fields (`ENTRY_FIELDS`), without their names: for a writer
 * that names them once for many entries (the publish script).
 *
 * @example
 * const [id, key, headers, body] = entryValues(message)
 */
export function entryValues(message: BrokerMessage): string[] {
  const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('base64');
  return [message.id, message.key, JSON.stringify(message.headers), body];
}

/** The fields of a stream entry by name. */
export function fieldMap(fields: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
  return map;
}

/** The inverse of `toFields`. */
export function fromFields(map: Record<string, string>): BrokerMessage {
  return { id: map.id ?? '', key: map.key ?? '', headers: JSON.parse(map.headers ?? '{}') as Record<string, string>, body: Buffer.from(map.body ?? '', 'base64') };
}
