import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { EventShape, NewEvent, RecordedEvent } from '../core/message.js';
import { EventSchemaViolationError } from './event-schema-violation-error.js';
import type { EventType, InferEvent } from './event-type.js';
import { registeredEventStore, type RegisteredEventStore } from './registered-event-store.js';
import { formatIssuePath } from './standard-schema.js';

/** Options of an `EventRegistry`. */
export interface EventRegistryOptions {
  /** Refuse to append events whose type is not registered; false by default (they pass unchecked). */
  strict?: boolean;
}

/**
 * Where the events of a typed definition come from (`defineProjection({ events: registry })`):
 * the registry, whose `~events` carries its event union as a type only.
 *
 * @example
 * const carts: EventSource<InferEvent<typeof ItemAdded>> = new EventRegistry([ItemAdded])
 */
export interface EventSource<E extends EventShape = NewEvent> {
  /** Never set: the union of the registered events, for the type checker. */
  readonly '~events'?: E;
  get(type: string): EventType<string, any> | undefined;
}

/**
 * The event types an application knows. It validates events before they are appended and
 * upcasts stored events to the current version of their type on every read; `wrap(store)` does
 * both for any `EventStore`, so streams, `$all`, projections and replays all see current events
 * while the stored events never change.
 *
 * @example
 * const registry = new EventRegistry([ItemAdded, CartCheckedOut])
 * const store = registry.wrap(await openEventStore())
 * await store.append('cart-1', [ItemAdded.create({ sku: 'a', quantity: 1 })]) // validated
 * for await (const e of store.readStream('cart-1')) e.schemaVersion          // always current
 */
export class EventRegistry<T extends EventType<string, any> = EventType<string, any>> implements EventSource<InferEvent<T>> {
  declare readonly '~events'?: InferEvent<T>;
  private readonly byType = new Map<string, EventType<string, any>>();
  readonly strict: boolean;

  /** `T`, the registered types, types what `wrap(store)` appends and reads. */
  constructor(types: readonly T[] = [], options: EventRegistryOptions = {}) {
    this.strict = options.strict ?? false;
    for (const type of types) this.register(type);
  }

  /** Adds an event type; a name can be registered once. Returns the registry, typed with it too. */
  register<U extends EventType<string, any>>(type: U): EventRegistry<T | U> {
    if (this.byType.has(type.type)) throw new FactumError('INVALID_ARGUMENT', `Event type "${type.type}" is registered twice`, { details: { type: type.type } });
    this.byType.set(type.type, type);
    return this as EventRegistry<T | U>;
  }

  get(type: string): EventType<string, any> | undefined {
    return this.byType.get(type);
  }

  /** Registered types, in name order. */
  types(): EventType<string, any>[] {
    return [...this.byType.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }

  /**
   * Checks every event against its schema; the first invalid event raises `EventSchemaViolationError`.
   * Returns the events with `schemaVersion` filled in (the current version when absent). The
   * data is stored as given, not as the schema's output, so a transforming schema cannot change
   * what was decided.
   */
  async validate(events: NewEvent[]): Promise<NewEvent[]> {
    if (!Array.isArray(events)) return events;
    const out: NewEvent[] = [];
    for (const [index, event] of events.entries()) {
      const type = typeof event === 'object' && event !== null ? this.byType.get(event.type) : undefined;
      if (!type) {
        if (this.strict && typeof event === 'object' && event !== null) {
          throw new EventSchemaViolationError(String(event.type), event.schemaVersion ?? 1, index, [{ path: '(type)', message: `event type "${String(event.type)}" is not registered` }]);
        }
        out.push(event);
        continue;
      }
      const version = event.schemaVersion ?? type.version;
      const definition = type.versions[version - 1];
      if (!definition) {
        throw new EventSchemaViolationError(type.type, version, index, [{ path: '(schemaVersion)', message: `version ${version} is not declared (known: 1 to ${type.version})` }]);
      }
      const result = await definition.schema['~standard'].validate(event.data);
      if (result.issues) {
        const issues = result.issues.map((i) => ({ path: formatIssuePath(i.path), message: i.message }));
        throw new EventSchemaViolationError(type.type, version, index, issues.length ? issues : [{ path: '(root)', message: 'invalid' }]);
      }
      out.push(event.schemaVersion === version ? event : { ...event, schemaVersion: version });
    }
    return out;
  }

  /**
   * Brings a stored event to the current version of its type by chaining upcasters
   * (n → n+1 → ...). Returns a new object; the stored event is untouched. Unregistered types
   * pass through; an event newer than this code knows raises `UPCAST_FAILED` rather than being
   * read as something it is not.
   */
  upcast<E extends RecordedEvent>(event: E): E {
    const type = this.byType.get(event.type);
    if (!type || event.schemaVersion === type.version) return event;
    if (event.schemaVersion > type.version || event.schemaVersion < 1) {
      throw upcastError(event, `it is stored at version ${event.schemaVersion}, but this code knows versions 1 to ${type.version} (deploy the newer event definition)`);
    }
    let data = event.data;
    for (let version = event.schemaVersion + 1; version <= type.version; version++) {
      try {
        data = type.versions[version - 1]!.upcast!(data, { eventId: event.id, streamId: event.streamId, metadata: event.metadata });
      } catch (error) {
        throw upcastError(event, `the upcaster to version ${version} threw: ${(error as Error)?.message ?? String(error)}`, error);
      }
    }
    return { ...event, data, schemaVersion: type.version };
  }

  /**
   * The same store, validating on append and upcasting on every read; everything else is the
   * store's own (its capabilities, its side object, `sqlAccess`, hooks), so the layers above
   * treat the wrapper as the store, with no unwrapping. `unwrapEventStore` gives the bare store
   * back. A registry of known types types the store by them: `append` takes only registered
   * types with their data, and reads give the registered events, narrowed by `type`.
   *
   * @example
   * const store = new EventRegistry([ItemAdded, CartCheckedOut]).wrap(await openEventStore())
   * await store.append('cart-1', [ItemAdded.create({ sku: 'a', quantity: 1 })])
   * for await (const e of store.readStream('cart-1')) if (e.type === 'ItemAdded') e.data.quantity
   */
  wrap<S extends EventStore>(store: S): RegisteredEventStore<S, InferEvent<T>> {
    return registeredEventStore(store, this) as RegisteredEventStore<S, InferEvent<T>>;
  }
}

function upcastError(event: RecordedEvent, reason: string, cause?: unknown): FactumError {
  return new FactumError('UPCAST_FAILED', `Cannot upcast event ${event.id} (${event.type} v${event.schemaVersion}) of stream "${event.streamId}": ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { eventId: event.id, type: event.type, schemaVersion: event.schemaVersion, streamId: event.streamId },
  });
}
