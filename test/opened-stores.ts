import { afterEach } from 'vitest';
import type { EventStore } from '../src/core/event-store.js';
import type { StoreFactory } from './stores.js';

/** Opens stores of `factory` for the tests of the calling `describe`, each closed after its test. */
export function openedStores(factory: StoreFactory): (options?: Parameters<StoreFactory['open']>[0]) => Promise<EventStore> {
  const opened: EventStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  return async (options) => {
    const store = await factory.open(options);
    opened.push(store);
    return store;
  };
}
