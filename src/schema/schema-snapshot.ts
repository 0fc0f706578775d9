import { FactumError } from '../core/errors.js';
import { EventRegistry } from './event-registry.js';
import type { EventType } from './event-type.js';

/**
 * The JSON Schema of every version of every event type, as committed in the user's repository.
 * The compatibility check compares the code against it. Keys are sorted so that the file diffs
 * cleanly in review.
 */
export interface SchemaSnapshot {
  factumSchemaSnapshot: 1;
  /** Event type → schema version (as a string key) → JSON Schema of the data. */
  eventTypes: Record<string, Record<string, Record<string, unknown>>>;
}

type Source = EventRegistry | ReadonlyArray<EventType<string, any>>;

// Not `instanceof EventRegistry`: a registry made by another copy of factum (two installed
// versions, or a config module loaded through tsx, which gives it its own module instances) is one too.
const typesOf = (source: Source): EventType<string, any>[] => (isTypeList(source) ? new EventRegistry(source).types() : source.types());
const isTypeList = (source: Source): source is ReadonlyArray<EventType<string, any>> => Array.isArray(source);

/** Sorts object keys recursively (arrays keep their order: it can mean something). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * Takes the JSON Schema of each version of each event type. The schema library must implement
 * Standard JSON Schema (zod 4 does), or the version must carry a `jsonSchema`.
 *
 * @example
 * const snapshot = schemaSnapshot(registry)
 * await writeFile('events.schema.json', JSON.stringify(snapshot, null, 2))
 */
export function schemaSnapshot(source: Source): SchemaSnapshot {
  const eventTypes: SchemaSnapshot['eventTypes'] = {};
  for (const type of typesOf(source)) {
    const versions: Record<string, Record<string, unknown>> = {};
    for (const v of type.versions) {
      let json = v.jsonSchema;
      if (!json) {
        const convert = v.schema['~standard'].jsonSchema;
        if (!convert) {
          throw new FactumError('INVALID_ARGUMENT', `Event type "${type.type}" v${v.version}: its schema library (${v.schema['~standard'].vendor}) cannot produce JSON Schema; pass { jsonSchema } when declaring the version`, {
            details: { type: type.type, version: v.version },
          });
        }
        json = convert.input({ target: 'draft-2020-12' });
      }
      const { $schema: _ignored, ...rest } = json;
      versions[String(v.version)] = canonical(rest) as Record<string, unknown>;
    }
    eventTypes[type.type] = versions;
  }
  return { factumSchemaSnapshot: 1, eventTypes };
}

/**
 * Checks that a parsed file is a schema snapshot.
 *
 * @example
 * const committed = parseSchemaSnapshot(JSON.parse(await readFile('events.schema.json', 'utf8')))
 */
export function parseSchemaSnapshot(value: unknown): SchemaSnapshot {
  const v = value as Partial<SchemaSnapshot> | null;
  if (!v || v.factumSchemaSnapshot !== 1 || typeof v.eventTypes !== 'object' || v.eventTypes === null) {
    throw new FactumError('INVALID_ARGUMENT', 'not a factum schema snapshot (expected { "factumSchemaSnapshot": 1, "eventTypes": {...} })');
  }
  return v as SchemaSnapshot;
}
