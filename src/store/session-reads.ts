import type { EventStore } from '../core/event-store.js';
import type { SqlQueryable } from './sql/sql-client.js';

/** The reads of one stream, as `EventStore` has them. */
export type StreamReads = Pick<EventStore, 'readStream' | 'loadStream' | 'streamInfo'>;

/** Where a store keeps its reads on a given session; a registry wrapper upcasts them. */
export const SESSION_READS = Symbol.for('factum.sessionReads');

/**
 * The store's stream reads on `on`, a session that is inside a transaction, or undefined where
 * the store has no such reads. A handler that reads while it holds a transaction must read on
 * that transaction's connection: from the pool, N handlers holding N of its connections would
 * each wait for an N+1st that never comes free, and the reads could not see what the
 * transaction wrote so far.
 *
 * @example
 * const reads = sessionReads(store, tx.sql) ?? store
 * const { events } = await reads.loadStream('order-1')
 */
export function sessionReads(store: EventStore, on: SqlQueryable): StreamReads | undefined {
  const reads = (store as unknown as Partial<Record<typeof SESSION_READS, (on: SqlQueryable) => StreamReads>>)[SESSION_READS];
  return typeof reads === 'function' ? reads.call(store, on) : undefined;
}
