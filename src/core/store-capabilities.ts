import type { EventStore } from './event-store.js';

/**
 * What a store can do beyond the `EventStore` port, declared by the store itself. The layers above
 * (subscriptions, projections, snapshots, imports) decide by these flags, never by a store's class
 * or `kind`, so a store wrapped by a registry, or one of your own, is treated by what it declares.
 *
 * @example
 * const { sql, concurrentSessions } = storeCapabilities(store)
 * if (!sql) throw new Error('This read model lives in SQL tables: use PGlite or PostgreSQL')
 */
export interface StoreCapabilities {
  /**
   * SQL transactions: `tx.sql`, tables beside the log (checkpoints, snapshots, read models), and
   * a handler's writes that roll back with its transaction. `sqlAccess(store)` gives the session.
   */
  readonly sql: boolean;
  /**
   * More than one database session at a time: a second session reads while another one's
   * transaction is open (a rebuild catching up behind a locked swap, standby partition leases,
   * parallel readers, appends batched while others are in flight). PGlite is one session.
   */
  readonly concurrentSessions: boolean;
  /** Appends committed by other processes wake this one (LISTEN/NOTIFY). */
  readonly listen: boolean;
  /** Hooks can run inside every append, in its transaction (inline projections, `installInlineHook`). */
  readonly inlineHooks: boolean;
  /**
   * The log lives in this process's memory and ends with the store object (the memory store):
   * what is kept beside it (snapshots, checkpoints) may live in memory too.
   */
  readonly ephemeral: boolean;
}

/**
 * What a store that declares nothing can do: the port and nothing more.
 *
 * @example
 * if (storeCapabilities(store) === NO_CAPABILITIES) console.warn(`the ${store.kind} store declares no capabilities`)
 */
export const NO_CAPABILITIES: StoreCapabilities = Object.freeze({ sql: false, concurrentSessions: false, listen: false, inlineHooks: false, ephemeral: false });

/**
 * The capabilities a store declares (`store.capabilities`), or none for a store that declares
 * nothing. Works on a store wrapped by a registry (`registry.wrap(store)`) as on the store itself.
 *
 * @example
 * const store = await openEventStore('memory:')
 * storeCapabilities(store) // { sql: false, concurrentSessions: false, listen: false, inlineHooks: true, ephemeral: true }
 */
export function storeCapabilities(store: EventStore): StoreCapabilities {
  return store.capabilities ?? NO_CAPABILITIES;
}
