/**
 * Finds the changes between two JSON Schemas of one event version that would stop the new
 * schema from describing data written under the old one (the BACKWARD rule of schema
 * registries: new readers must read old data). Covers the JSON Schema that Standard JSON Schema
 * converters emit for event payloads: objects, arrays, scalar types, unions and enums.
 */

/** A kind of breaking change. */
export type BreakingRule =
  | 'removed-required-field'
  | 'renamed-required-field'
  | 'removed-field'
  | 'changed-type'
  | 'added-required-field'
  | 'made-field-required'
  | 'removed-enum-value';

/** One breaking change, at a path inside the event's data. */
export interface SchemaChange {
  rule: BreakingRule;
  /** Like `lines[].sku`; `(root)` for the data itself. */
  path: string;
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON types a schema admits; empty means "anything" (no constraint we can read). */
function typeSet(schema: unknown): Set<string> {
  if (!isObject(schema)) return new Set();
  const out = new Set<string>();
  if (typeof schema.type === 'string') out.add(schema.type);
  if (Array.isArray(schema.type)) for (const t of schema.type) if (typeof t === 'string') out.add(t);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = schema[key];
    if (!Array.isArray(members)) continue;
    for (const member of members) {
      const inner = typeSet(member);
      // One unconstrained member makes the whole union unconstrained.
      if (inner.size === 0) return new Set();
      for (const t of inner) out.add(t);
    }
  }
  const values = 'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : undefined;
  if (out.size === 0 && values) for (const v of values) out.add(jsonType(v));
  return out;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** True when every value of the old types is still accepted by the new ones (integer fits in number). */
function typesAccepted(before: Set<string>, after: Set<string>): boolean {
  if (after.size === 0) return true;
  if (before.size === 0) return false;
  for (const t of before) if (!after.has(t) && !(t === 'integer' && after.has('number'))) return false;
  return true;
}

const describe = (types: Set<string>): string => (types.size === 0 ? 'any' : [...types].sort().join(' | '));
const join = (path: string, key: string): string => (path === '(root)' ? key : `${path}.${key}`);

/** The object branch of a schema (itself, or the object member of a nullable union). */
function objectPart(schema: unknown): Json | undefined {
  if (!isObject(schema)) return undefined;
  if (isObject(schema.properties)) return schema;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = schema[key];
    if (Array.isArray(members)) for (const m of members) if (isObject(m) && isObject(m.properties)) return m;
  }
  return undefined;
}

function arrayItems(schema: unknown): unknown {
  if (!isObject(schema)) return undefined;
  if (isObject(schema.items)) return schema.items;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = schema[key];
    if (Array.isArray(members)) for (const m of members) if (isObject(m) && isObject(m.items)) return m.items;
  }
  return undefined;
}

/**
 * Lists the breaking changes from `before` to `after`, recursively.
 *
 * @example
 * breakingChanges({ type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] },
 *                 { type: 'object', properties: {}, required: [] })
 * // [{ rule: 'removed-required-field', path: 'sku', ... }]
 */
export function breakingChanges(before: unknown, after: unknown, path = '(root)'): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const beforeTypes = typeSet(before);
  const afterTypes = typeSet(after);
  if (!typesAccepted(beforeTypes, afterTypes)) {
    changes.push({ rule: 'changed-type', path, message: `${path}: type changed from ${describe(beforeTypes)} to ${describe(afterTypes)}` });
    return changes;
  }

  const beforeEnum = isObject(before) && Array.isArray(before.enum) ? before.enum : undefined;
  const afterEnum = isObject(after) && Array.isArray(after.enum) ? after.enum : undefined;
  if (beforeEnum && afterEnum) {
    const kept = new Set(afterEnum.map((v) => JSON.stringify(v)));
    for (const value of beforeEnum) {
      if (!kept.has(JSON.stringify(value))) changes.push({ rule: 'removed-enum-value', path, message: `${path}: value ${JSON.stringify(value)} is no longer allowed` });
    }
  }

  const oldObject = objectPart(before);
  const newObject = objectPart(after);
  if (oldObject && newObject) changes.push(...objectChanges(oldObject, newObject, path));

  const oldItems = arrayItems(before);
  const newItems = arrayItems(after);
  if (oldItems !== undefined && newItems !== undefined) changes.push(...breakingChanges(oldItems, newItems, path === '(root)' ? '[]' : `${path}[]`));
  return changes;
}

function objectChanges(before: Json, after: Json, path: string): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const oldProps = before.properties as Json;
  const newProps = after.properties as Json;
  const oldRequired = new Set(Array.isArray(before.required) ? (before.required as string[]) : []);
  const newRequired = new Set(Array.isArray(after.required) ? (after.required as string[]) : []);
  const hasDefault = (name: string): boolean => isObject(newProps[name]) && 'default' in (newProps[name] as Json);

  const removed = Object.keys(oldProps).filter((name) => !(name in newProps));
  // New required fields without a default: old data cannot have them.
  const addedRequired = Object.keys(newProps).filter((name) => !(name in oldProps) && newRequired.has(name) && !hasDefault(name));
  const renamedTo = new Set<string>();

  for (const name of removed) {
    if (oldRequired.has(name)) {
      // A removed required field and a new required field of the same type read as a rename.
      const twin = addedRequired.find((n) => !renamedTo.has(n) && describe(typeSet(newProps[n])) === describe(typeSet(oldProps[name])));
      if (twin) {
        renamedTo.add(twin);
        changes.push({ rule: 'renamed-required-field', path: join(path, name), message: `${join(path, name)}: required field renamed to "${twin}"` });
      } else {
        changes.push({ rule: 'removed-required-field', path: join(path, name), message: `${join(path, name)}: required field removed` });
      }
    } else if (after.additionalProperties === false) {
      changes.push({ rule: 'removed-field', path: join(path, name), message: `${join(path, name)}: field removed from a closed object (old data that has it is now rejected)` });
    }
  }
  for (const name of addedRequired) {
    if (renamedTo.has(name)) continue;
    changes.push({ rule: 'added-required-field', path: join(path, name), message: `${join(path, name)}: new required field without a default` });
  }
  for (const name of Object.keys(newProps)) {
    if (!(name in oldProps)) continue;
    if (newRequired.has(name) && !oldRequired.has(name) && !hasDefault(name)) {
      changes.push({ rule: 'made-field-required', path: join(path, name), message: `${join(path, name)}: optional field became required without a default` });
    }
    changes.push(...breakingChanges(oldProps[name], newProps[name], join(path, name)));
  }
  return changes;
}
