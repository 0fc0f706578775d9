import type { EventStore } from '../src/core/event-store.js';

/** A store of one's own: the port, delegated to a memory store, and nothing declared. */
export function ownStore(inner: EventStore): EventStore {
  return {
    kind: 'own',
    append: (...args) => inner.append(...args),
    readStream: (...args) => inner.readStream(...args),
    loadStream: (...args) => inner.loadStream(...args),
    readAllPage: (...args) => inner.readAllPage(...args),
    readAll: (...args) => inner.readAll(...args),
    headPosition: () => inner.headPosition(),
    streamInfo: (...args) => inner.streamInfo(...args),
    setStreamMetadata: (...args) => inner.setStreamMetadata(...args),
    deleteStream: (...args) => inner.deleteStream(...args),
    tombstoneStream: (...args) => inner.tombstoneStream(...args),
    listStreams: (...args) => inner.listStreams(...args),
    transaction: (fn) => inner.transaction(fn),
    onAppended: (listener) => inner.onAppended(listener),
    close: () => inner.close(),
  };
}
