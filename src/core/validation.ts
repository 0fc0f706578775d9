import { FactumError } from './errors.js';
import type { EventMetadata, ExpectedVersion, NewEvent } from './message.js';
import { isUuid, uuidv7 } from './uuid.js';

/** Store-wide limits. */
export interface StoreLimits {
  /** Largest serialised event (data + metadata, UTF-8 bytes); 1 MiB by default. */
  maxEventBytes: number;
  /** Most events in one append; 10,000 by default. */
  maxEventsPerAppend: number;
}

/**
 * The limits a store applies unless told otherwise: 1 MiB per event, 10,000 events per append.
 *
 * @example
 * const store = await openEventStore('memory:', { limits: { maxEventBytes: 4 * DEFAULT_LIMITS.maxEventBytes } })
 */
export const DEFAULT_LIMITS: StoreLimits = { maxEventBytes: 1024 * 1024, maxEventsPerAppend: 10_000 };

/** An event checked and serialised once, ready for any store. */
export interface PreparedEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  schemaVersion: number;
  dataJson: string;
  metadataJson: string;
}

const MAX_NAME_LENGTH = 255;
// Control characters break logs, URLs and PostgreSQL text (NUL cannot be stored at all).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalidStream(streamId: unknown, reason: string): FactumError {
  return new FactumError('INVALID_STREAM_ID', `Invalid stream id ${JSON.stringify(streamId)}: ${reason}`, {
    details: { streamId, reason },
  });
}

/** Rejects stream ids that no store can keep faithfully. `$` starts reserved names like `$all`. */
export function validateStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string') throw invalidStream(streamId, 'it must be a string');
  if (streamId.length === 0) throw invalidStream(streamId, 'it is empty');
  if (streamId.length > MAX_NAME_LENGTH) throw invalidStream(streamId.slice(0, 40) + '…', `it is longer than ${MAX_NAME_LENGTH} characters`);
  if (CONTROL.test(streamId)) throw invalidStream(streamId, 'it contains control characters');
  if (!isWellFormed(streamId)) throw invalidStream(streamId, 'it contains a lone UTF-16 surrogate (half of a pair), which is not valid Unicode');
  if (streamId.trim() !== streamId) throw invalidStream(streamId, 'it starts or ends with white space');
  if (streamId.startsWith('$')) throw invalidStream(streamId, 'names starting with "$" are reserved');
}

export function validateExpectedVersion(expected: unknown): asserts expected is ExpectedVersion {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return;
  throw new FactumError('INVALID_ARGUMENT', `Invalid expected version ${String(expected)}: use 'any', 'no_stream', 'stream_exists' or a version >= 0`, {
    details: { expectedVersion: String(expected) },
  });
}

function invalidEvent(index: number, reason: string, details: Record<string, unknown> = {}): FactumError {
  return new FactumError('INVALID_EVENT', `Event #${index}: ${reason}`, { details: { index, reason, ...details } });
}

/** Deeper than this is refused: the walk below recurses, and no fact is nested this deep. */
const MAX_DEPTH = 512;

/**
 * ES2024's `String.prototype.isWellFormed` (Node 20 has it; TypeScript's ES2023 lib does not
 * declare it): false when the string holds a lone UTF-16 surrogate. It is several times faster
 * than a `/\p{Cs}/u` scan on long strings, and appends check every string.
 */
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Why a string cannot be stored as it is, if it cannot. PostgreSQL text holds no NUL, and a
 * lone surrogate is not Unicode at all: the SQL stores would refuse it in JSON, and in an id
 * they would store U+FFFD instead, so that `'s-\uD800'` and `'s-\uDBFF'` became one stream.
 */
function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character, which PostgreSQL text cannot hold';
  if (!isWellFormed(text)) return 'contains a lone UTF-16 surrogate (half of a pair), which is not valid Unicode';
  return undefined;
}

/** Where a value stops being plain JSON: the reason, and the path down to it (built only on failure). */
interface NonJson {
  reason: string;
  path: Array<string | number>;
}

/**
 * Finds the first place where `value` is not plain JSON that survives a round trip unchanged.
 * JSON.stringify would silently turn NaN into null, drop undefined and functions, and turn a
 * Date into a string: facts must not change on the way into the log. Runs after
 * JSON.stringify succeeded (or failed on a BigInt), which has already refused cycles, so it
 * needs no visited set; the depth bound covers what stringify did not walk (a value behind a toJSON).
 */
function findNonJson(value: unknown, depth: number, checkText: boolean): NonJson | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { reason: `is ${value}: JSON numbers must be finite`, path: [] };
  if (typeof value === 'string') {
    const problem = checkText ? textProblem(value) : undefined;
    return problem ? { reason: problem, path: [] } : undefined;
  }
  if (typeof value === 'bigint') return { reason: 'is a BigInt, which JSON cannot hold (store it as a string)', path: [] };
  if (typeof value !== 'object') return { reason: `is a ${typeof value}, which JSON cannot hold`, path: [] };
  if (depth > MAX_DEPTH) return { reason: `is nested more than ${MAX_DEPTH} levels deep`, path: [] };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = value[i] === undefined ? { reason: 'is undefined: an array element must be a JSON value (use null)', path: [] } : findNonJson(value[i], depth + 1, checkText);
      if (found) return (found.path.unshift(i), found);
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (value as object).constructor?.name;
    const hint = value instanceof Date ? ' (store a Date as an ISO string)' : '';
    return { reason: `is a ${name ?? 'non-plain object'}, not a plain object${hint}`, path: [] };
  }
  for (const key in value) {
    const keyProblem = checkText ? textProblem(key) : undefined;
    if (keyProblem) return { reason: `has a key ${JSON.stringify(key)} that ${keyProblem}`, path: [] };
    const property = (value as Record<string, unknown>)[key];
    const found = property === undefined ? { reason: 'is undefined: leave the property out or set it to null', path: [] } : findNonJson(property, depth + 1, checkText);
    if (found) return (found.path.unshift(key), found);
  }
  return undefined;
}

/** Serialises `value` as JSON, or says why it cannot be kept faithfully and where. */
function toJson(value: unknown, root: string): { json: string } | { problem: string; path: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    // A cycle, or a BigInt (whose path the walk below finds).
    if (!/BigInt/i.test((error as Error).message)) return { problem: `${root}: ${(error as Error).message.split('\n')[0]}`, path: root };
  }
  // JSON.stringify writes a NUL or a lone surrogate as a \u escape, and never escapes a
  // well-formed character above U+001F that way: JSON without "\u" needs no look at its strings.
  const found = findNonJson(value, 0, json === undefined || json.includes('\\u'));
  if (!found) return { json: json! };
  const path = root + found.path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
  return { problem: `${path} ${found.reason}`, path };
}

/**
 * The metadata keys factum itself reads (`EventMetadata`): each must be a string when present,
 * or correlation and causation chains would silently break on a number.
 */
const STRING_METADATA = ['correlationId', 'causationId', 'userId'] as const;

/** Checks and serialises one event; `index` names it in errors. */
export function prepareEvent(event: unknown, index: number, limits: StoreLimits): PreparedEvent {
  if (typeof event !== 'object' || event === null) throw invalidEvent(index, 'it is not an object');
  const e = event as Partial<NewEvent> & Record<string, unknown>;
  if (typeof e.type !== 'string') throw invalidEvent(index, 'its type must be a string', { type: String(e.type) });
  if (e.type.length === 0 || e.type.length > MAX_NAME_LENGTH || CONTROL.test(e.type) || !isWellFormed(e.type)) {
    throw invalidEvent(index, `its type must be 1 to ${MAX_NAME_LENGTH} characters of valid Unicode without control characters`, { type: e.type });
  }
  if (e.id !== undefined && !isUuid(e.id)) throw invalidEvent(index, 'its id must be a UUID', { id: String(e.id) });
  const schemaVersion = e.schemaVersion ?? 1;
  if (!Number.isSafeInteger(schemaVersion) || schemaVersion < 1) {
    throw invalidEvent(index, 'its schemaVersion must be an integer >= 1', { schemaVersion: String(schemaVersion) });
  }
  if (!('data' in e) || e.data === undefined) throw invalidEvent(index, 'its data is missing (use null for none)', { type: e.type });
  const data = toJson(e.data, 'data');
  if ('problem' in data) throw invalidEvent(index, `its data is not plain JSON: ${data.problem}`, { type: e.type, path: data.path });
  const metadata = (e.metadata ?? {}) as EventMetadata;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw invalidEvent(index, 'its metadata must be an object');
  const metadataClean: EventMetadata = {};
  for (const key in metadata) if (metadata[key] !== undefined) metadataClean[key] = metadata[key];
  for (const key of STRING_METADATA) {
    const value = metadataClean[key];
    if (value !== undefined && typeof value !== 'string') {
      const shown = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      throw invalidEvent(index, `its metadata.${key} must be a string, got ${shown}`, { type: e.type, path: `metadata.${key}` });
    }
  }
  const meta = toJson(metadataClean, 'metadata');
  if ('problem' in meta) throw invalidEvent(index, `its metadata is not plain JSON: ${meta.problem}`, { type: e.type, path: meta.path });

  const dataJson = data.json;
  const metadataJson = meta.json;
  const bytes = Buffer.byteLength(dataJson) + Buffer.byteLength(metadataJson);
  if (bytes > limits.maxEventBytes) {
    throw new FactumError('EVENT_TOO_LARGE', `Event #${index} (${e.type}) is ${bytes} bytes; the limit is ${limits.maxEventBytes}`, {
      details: { index, type: e.type, bytes, limit: limits.maxEventBytes },
    });
  }
  return { id: (e.id ?? uuidv7()).toLowerCase(), type: e.type, data: e.data, metadata: metadataClean, schemaVersion, dataJson, metadataJson };
}

/** Checks a whole append before anything is written; the first problem raises a typed error. */
export function prepareAppend(streamId: unknown, events: unknown, expected: unknown, limits: StoreLimits): PreparedEvent[] {
  validateStreamId(streamId);
  validateExpectedVersion(expected);
  if (!Array.isArray(events)) throw new FactumError('INVALID_ARGUMENT', 'events must be an array', { details: { streamId } });
  if (events.length === 0) throw new FactumError('INVALID_ARGUMENT', 'an append needs at least one event', { details: { streamId } });
  if (events.length > limits.maxEventsPerAppend) {
    throw new FactumError('INVALID_ARGUMENT', `an append holds at most ${limits.maxEventsPerAppend} events, got ${events.length}`, {
      details: { streamId, count: events.length },
    });
  }
  const prepared = events.map((event, index) => prepareEvent(event, index, limits));
  if (prepared.length > 1 && new Set(prepared.map((e) => e.id)).size !== prepared.length) throw new FactumError('INVALID_EVENT', 'the same event id appears twice in one append', { details: { streamId } });
  return prepared;
}

/** Checks a positive integer option such as `limit`. */
export function validatePositiveInt(name: string, value: unknown, allowZero = false): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new FactumError('INVALID_ARGUMENT', `${name} must be an integer >= ${allowZero ? 0 : 1}, got ${String(value)}`, { details: { [name]: String(value) } });
  }
}
