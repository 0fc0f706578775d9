import { FactumError } from '../core/errors.js';
import type { EventMetadata, NewEvent } from '../core/message.js';
import type { InferInput, StandardSchemaV1 } from './standard-schema.js';

/** Turns the data of version n into the data of version n + 1. Pure and synchronous: it runs on every read. */
export type Upcaster<From = any, To = any> = (data: From, context: { eventId: string; streamId: string; metadata: EventMetadata }) => To;

/** One version of an event type: its schema, and (from version 2 on) the upcaster from the version before. */
export interface EventTypeVersion {
  version: number;
  schema: StandardSchemaV1;
  /** From version - 1 to this version; absent on version 1. */
  upcast?: Upcaster;
  /** The JSON Schema to snapshot, when the schema library cannot produce one itself. */
  jsonSchema?: Record<string, unknown>;
}

/** Options of one version. */
export interface EventVersionOptions {
  /**
   * The JSON Schema of this version for the compatibility check. Only needed when the schema
   * library does not implement Standard JSON Schema (zod 4 does).
   */
  jsonSchema?: Record<string, unknown>;
}

/**
 * An event type defined once: its name, and the schema of each of its versions with the
 * upcasters between them. Register it in an `EventRegistry` to validate appends and to upcast
 * reads. `Data` is the current version's data.
 *
 * @example
 * const ItemAdded = defineEvent('ItemAdded', z.object({ sku: z.string() }))
 *   .withVersion(2, z.object({ sku: z.string(), quantity: z.number() }), (v1) => ({ ...v1, quantity: 1 }))
 * ItemAdded.version                           // 2
 * ItemAdded.create({ sku: 'a', quantity: 3 }) // { type: 'ItemAdded', data: {...}, schemaVersion: 2 }
 */
export class EventType<Type extends string = string, Data = unknown> {
  /** Every version, oldest first; `versions[i].version === i + 1`. */
  readonly versions: readonly EventTypeVersion[];

  constructor(
    readonly type: Type,
    versions: readonly EventTypeVersion[],
  ) {
    this.versions = versions;
  }

  /** The current (highest) schema version. */
  get version(): number {
    return this.versions.length;
  }

  /** The current schema. */
  get schema(): StandardSchemaV1<Data> {
    return this.versions[this.versions.length - 1]!.schema as StandardSchemaV1<Data>;
  }

  /**
   * Declares the next version with its schema and the upcaster from the current one. The
   * version number is written out so that a reader of the code sees which one it is; it must
   * be the current version + 1.
   */
  withVersion<S extends StandardSchemaV1>(
    version: number,
    schema: S,
    upcast: Upcaster<Data, InferInput<S>>,
    options: EventVersionOptions = {},
  ): EventType<Type, InferInput<S>> {
    if (version !== this.version + 1) {
      throw new FactumError('INVALID_ARGUMENT', `Event type "${this.type}": the version after ${this.version} is ${this.version + 1}, not ${version}`, {
        details: { type: this.type, version },
      });
    }
    if (typeof upcast !== 'function') {
      throw new FactumError('INVALID_ARGUMENT', `Event type "${this.type}": version ${version} needs an upcaster from version ${this.version}`, {
        details: { type: this.type, version },
      });
    }
    return new EventType(this.type, [...this.versions, { version, schema, upcast, ...options }]);
  }

  /** A new event of this type at the current version, ready to append. Validation happens at append. */
  create(data: Data, metadata?: EventMetadata): NewEvent<Type, Data> & { schemaVersion: number } {
    return { type: this.type, data, schemaVersion: this.version, ...(metadata ? { metadata } : {}) };
  }

  /** True when `event` is of this type (narrows its data to the current version's). */
  is(event: { type: string }): event is { type: Type; data: Data } {
    return event.type === this.type;
  }
}

/**
 * Defines an event type with its first schema (version 1). Any Standard Schema library works.
 *
 * @example
 * import { z } from 'zod'
 * const CartCheckedOut = defineEvent('CartCheckedOut', z.object({ total: z.number() }))
 * await store.append('cart-1', [CartCheckedOut.create({ total: 42 })])
 */
export function defineEvent<Type extends string, S extends StandardSchemaV1>(
  type: Type,
  schema: S,
  options: EventVersionOptions = {},
): EventType<Type, InferInput<S>> {
  if (typeof type !== 'string' || type.length === 0) throw new FactumError('INVALID_ARGUMENT', 'an event type needs a non-empty name');
  if (typeof schema?.['~standard']?.validate !== 'function') {
    throw new FactumError('INVALID_ARGUMENT', `Event type "${type}": the schema is not a Standard Schema (it has no ~standard.validate)`, { details: { type } });
  }
  return new EventType(type, [{ version: 1, schema, ...options }]);
}

/**
 * The event (as appended) of an event type's current version, for deciders' event unions.
 *
 * @example
 * type CartEvent = InferEvent<typeof ItemAdded> | InferEvent<typeof CartCheckedOut>
 */
export type InferEvent<T> = T extends EventType<infer Type, infer Data> ? NewEvent<Type, Data> : never;
