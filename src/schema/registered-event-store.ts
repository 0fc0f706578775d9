import type {
  AllPage,
  AppendOptions,
  DeleteStreamOptions,
  EventStore,
  ListStreamsOptions,
  ReadAllOptions,
  ReadAllPageOptions,
  ReadStreamOptions,
  StreamInfo,
  StreamMetadata,
} from '../core/event-store.js';
import type { AppendResult, NewEvent, RecordedEvent } from '../core/message.js';
import type { EventRegistry } from './event-registry.js';

/**
 * The `EventStore` port in front of another store: appends are validated against the
 * registry's schemas, and every read (streams, `$all`, pages) is upcast to current versions.
 * Because it is the same port, it works for every store and for everything built on the port.
 * Create it with `registry.wrap(store)`.
 *
 * @example
 * const store = new EventRegistry([ItemAdded]).wrap(new MemoryEventStore())
 * store.inner // the wrapped store, holding events exactly as they were written
 */
export class RegisteredEventStore implements EventStore {
  readonly kind: string;

  constructor(
    readonly inner: EventStore,
    readonly registry: EventRegistry,
  ) {
    this.kind = inner.kind;
  }

  async append(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    return this.inner.append(streamId, await this.registry.validate(events), options);
  }

  async *readStream(streamId: string, options?: ReadStreamOptions): AsyncGenerator<RecordedEvent> {
    for await (const event of this.inner.readStream(streamId, options)) yield this.registry.upcast(event);
  }

  async loadStream(streamId: string, options?: ReadStreamOptions): Promise<{ events: RecordedEvent[]; info: StreamInfo }> {
    const { events, info } = await this.inner.loadStream(streamId, options);
    return { events: events.map((e) => this.registry.upcast(e)), info };
  }

  async readAllPage(options?: ReadAllPageOptions): Promise<AllPage> {
    const page = await this.inner.readAllPage(options);
    return { ...page, events: page.events.map((e) => this.registry.upcast(e)) };
  }

  async *readAll(options?: ReadAllOptions): AsyncGenerator<RecordedEvent> {
    for await (const event of this.inner.readAll(options)) yield this.registry.upcast(event);
  }

  headPosition(): Promise<bigint> {
    return this.inner.headPosition();
  }

  streamInfo(streamId: string): Promise<StreamInfo> {
    return this.inner.streamInfo(streamId);
  }

  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    return this.inner.setStreamMetadata(streamId, metadata);
  }

  deleteStream(streamId: string, options?: DeleteStreamOptions): Promise<void> {
    return this.inner.deleteStream(streamId, options);
  }

  tombstoneStream(streamId: string, options?: DeleteStreamOptions): Promise<void> {
    return this.inner.tombstoneStream(streamId, options);
  }

  listStreams(options?: ListStreamsOptions): Promise<StreamInfo[]> {
    return this.inner.listStreams(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
