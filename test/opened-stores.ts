import { afterEach } from 'vitest';
import type { EventStore } from '../src/core/event-store.js';
import type { StoreFactory } from './stores.js';

/** Opens stores of `factory` for the tests of the calling `describe`, each closed after its test. */
export function openedStores(factory: StoreFactory): () => Promise<EventStore> {
  const opened: EventStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  return async () => {
    const store = await factory.open();
    opened.push(store);
    return store;
  };
}
