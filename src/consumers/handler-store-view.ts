import { FactumError } from '../core/errors.js';
import type { EventStore, ReadStreamOptions, StreamInfo } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import { carryEventRegistry } from '../schema/registered-event-store.js';
import { sessionReads, type StreamReads } from '../store/session-reads.js';
import type { HandlerWrites } from './handler-appends.js';

/**
 * The store as a handler sees it (`context.store`): its appends are the handler's own
 * (`context.append`, in the handler's transaction), and a forward read of a stream to its end
 * (and `streamInfo`) includes what this transaction appended there, even where the store's reads
 * run on another session (PostgreSQL) or only see committed events (memory). So
 * `handleCommand(context.store, ...)` decides on the state it will commit with. Stream reads run
 * on the handler's transaction where it has one (`sessionReads`): never on a second connection
 * while the handler holds one. Everything else reads the store as it is; `transaction` and
 * `close` are refused.
 *
 * @example
 * handler: async (event, context) => {
 *   await handleCommand(context.store, `shipment-${event.data.orderId}`, { type: 'Ship', data: {} }, shipment)
 * }
 */
export function handlerStoreView(store: EventStore, writes: HandlerWrites): EventStore {
  const reads = (writes.session && sessionReads(store, writes.session)) || store;
  const view: EventStore = {
    kind: store.kind,
    append: (streamId, events, options) => writes.append(streamId, events, options),
    readStream: (streamId, options) => readWithOwn(reads, writes, streamId, options),
    async loadStream(streamId, options) {
      const events: RecordedEvent[] = [];
      for await (const event of view.readStream(streamId, options)) events.push(event);
      return { events, info: await view.streamInfo(streamId) };
    },
    readAllPage: (options) => store.readAllPage(options),
    readAll: (options) => store.readAll(options),
    headPosition: () => store.headPosition(),
    streamInfo: async (streamId) => withOwn(await reads.streamInfo(streamId), writes.appendedTo(streamId)),
    setStreamMetadata: (streamId, metadata) => store.setStreamMetadata(streamId, metadata),
    deleteStream: (streamId, options) => store.deleteStream(streamId, options),
    tombstoneStream: (streamId, options) => store.tombstoneStream(streamId, options),
    listStreams: (options) => store.listStreams(options),
    onAppended: (listener) => store.onAppended(listener),
    transaction: () => Promise.reject(new FactumError('TRANSACTION_IN_PROGRESS', 'A handler runs inside its subscription\'s transaction: append through context.append (or context.store), write through context.sql')),
    close: () => Promise.reject(new FactumError('INVALID_ARGUMENT', 'context.store is a view of the subscription\'s store: close the store itself')),
  };
  return carryEventRegistry(store, view);
}

/** A read to the stream's end, forward, gets the transaction's own events after what the store returned. */
async function* readWithOwn(store: StreamReads, writes: HandlerWrites, streamId: string, options: ReadStreamOptions = {}): AsyncGenerator<RecordedEvent> {
  const own = writes.appendedTo(streamId);
  const toEnd = options.direction !== 'backward' && options.toVersion === undefined && options.limit === undefined && options.asOf === undefined;
  let last = (options.fromVersion ?? 1) - 1;
  for await (const event of store.readStream(streamId, options)) {
    last = event.streamVersion;
    yield event;
  }
  // Where the read ran in the transaction (SQL stores), it has returned them already.
  if (toEnd) for (const event of own) if (event.streamVersion > last) yield event;
}

function withOwn(info: StreamInfo, own: RecordedEvent[]): StreamInfo {
  const last = own[own.length - 1];
  if (!last || last.streamVersion <= info.version) return info;
  return { ...info, version: last.streamVersion, exists: true, softDeleted: false };
}
