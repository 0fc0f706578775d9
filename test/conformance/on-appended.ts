// Wake-ups on the port: `onAppended` hears every committed append made through the store object.
import { describe, expect, it } from 'vitest';
import type { AppendResult } from '../../src/core/message.js';
import { uuidv7 } from '../../src/core/uuid.js';
import { EventRegistry } from '../../src/schema/event-registry.js';
import type { StoreUnderTest } from '../describe-on-stores.js';
import { caught } from '../caught.js';
import { ev } from './helpers.js';

export function onAppendedConformance(on: StoreUnderTest): void {
  describe('append listeners', () => {
    it('hear each committed append once with its result, not a re-append that wrote nothing, not a failed one, and stop when removed', async () => {
      const store = await on.open();
      const heard: AppendResult[] = [];
      const off = store.onAppended((result) => heard.push(result));
      const batch = [ev('A', 1, { id: uuidv7() })];
      const first = await store.append('s-1', batch, { expectedVersion: 'no_stream' });
      await store.append('s-1', batch, { expectedVersion: 'no_stream' }); // idempotent: nothing written
      await caught(store.append('s-1', [ev('B')], { expectedVersion: 'no_stream' })); // a conflict
      const inTransaction = await store.transaction((tx) => tx.append('s-2', [ev('C')]));
      off();
      await store.append('s-1', [ev('D')]);
      expect(heard).toEqual([first, inTransaction]);
    });

    it('are the store\'s own behind a registry wrapper: appends through either are heard by listeners on either', async () => {
      const store = await on.open();
      const wrapped = new EventRegistry().wrap(store);
      const heard: bigint[] = [];
      const off = wrapped.onAppended((result) => heard.push(result.lastPosition));
      const viaWrapper = await wrapped.append('s-1', [ev('A')]);
      const viaStore = await store.append('s-1', [ev('B')]);
      off();
      expect(heard).toEqual([viaWrapper.lastPosition, viaStore.lastPosition]);
    });
  });
}
