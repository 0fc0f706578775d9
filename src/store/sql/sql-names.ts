import { fnv1a32 } from '../../core/fnv1a.js';

/** Quotes an SQL identifier (schema names come from configuration). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** FNV-1a of a string as a signed int4 (the type of advisory lock keys). */
const hash32 = (text: string): number => fnv1a32(text) | 0;

// "FACT" and "FACU": the first int4 of factum's advisory lock keys. The second is the schema's hash,
// so two stores in two schemas of one database never block each other.
const APPEND_LOCK_CLASS = 0x46414354;
const MIGRATION_LOCK_CLASS = 0x46414355;

/** Names and lock keys of one store, derived from its schema. */
export interface SqlNames {
  schema: string;
  /** `"schema".` prefix. */
  s: string;
  appendLock: [number, number];
  migrationLock: [number, number];
  /** The NOTIFY channel of committed appends (see `appendChannel`). */
  appendChannel: string;
}

export function sqlNames(schema: string): SqlNames {
  const h = hash32(schema);
  return {
    schema,
    s: `${quoteIdent(schema)}.`,
    appendLock: [APPEND_LOCK_CLASS, h],
    migrationLock: [MIGRATION_LOCK_CLASS, h],
    appendChannel: appendChannel({ schema }),
  };
}

/**
 * The NOTIFY channel a committed append signals on. Derived from the schema so that two stores
 * in one database wake only their own subscribers; hashed when the name would pass PostgreSQL's
 * 63-byte identifier limit (longer channel names are rejected by `pg_notify`).
 */
export function appendChannel(names: Pick<SqlNames, 'schema'>): string {
  const plain = `factum_appended_${names.schema}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `factum_appended_${(hash32(names.schema) >>> 0).toString(16)}`;
}
