import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { storeCapabilities } from '../core/store-capabilities.js';

/**
 * Runs inside an append, with the events as recorded: SQL stores pass the append's transaction,
 * the memory store calls it synchronously before it changes anything. A throw cancels the append.
 */
export type InlineHook = (events: RecordedEvent[], tx: SqlQueryable | undefined) => Promise<void> | void;

/** The method a store with the `inlineHooks` capability installs its hook through. */
export const SET_INLINE_HOOK = Symbol.for('factum.setInlineHook');

/**
 * Makes `hook` run inside every later append of `store` (one hook per store: the inline
 * projections' dispatcher); undefined removes it. Works through a registry wrapper.
 *
 * @example
 * installInlineHook(store, async (events, tx) => { for (const e of events) await tx?.query('INSERT ...', [e.id]) })
 */
export function installInlineHook(store: EventStore, hook: InlineHook | undefined): void {
  const install = (store as unknown as Partial<Record<typeof SET_INLINE_HOOK, (hook: InlineHook | undefined) => void>>)[SET_INLINE_HOOK];
  if (!storeCapabilities(store).inlineHooks || typeof install !== 'function') {
    throw new FactumError('INVALID_ARGUMENT', `The ${store.kind} store runs no inline projections`);
  }
  install.call(store, hook);
}
