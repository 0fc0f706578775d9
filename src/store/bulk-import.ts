import type { EventStore } from '../core/event-store.js';
import type { PreparedEvent } from '../core/validation.js';

/** A batch of `importEvents`, validated, with its stream ids beside the events. */
export interface PreparedImport {
  streamIds: string[];
  events: PreparedEvent[];
}

/** The method of a store that imports a batch its own fast way, all or nothing; resolves to the last position. */
export const IMPORT_PREPARED = Symbol.for('factum.importPrepared');

type ImportPrepared = (batch: PreparedImport) => Promise<bigint>;

/** The store's own bulk import (memory, SQL), read through a registry wrapper; undefined when it has none. */
export function bulkImportOf(store: EventStore): ImportPrepared | undefined {
  const own = (store as unknown as Partial<Record<typeof IMPORT_PREPARED, ImportPrepared>>)[IMPORT_PREPARED];
  return typeof own === 'function' ? (batch) => own.call(store, batch) : undefined;
}
