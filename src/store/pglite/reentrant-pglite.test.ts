import { describe, expect, it } from 'vitest';
import { testPGlite, uniqueSchema } from '../../../test/stores.js';
import { openPGliteEventStore } from './pglite-event-store.js';

describe('re-entrant PGlite', () => {
  it('an append made inside one of the store\'s transactions joins it instead of waiting for ever', async () => {
    const store = await openPGliteEventStore({ dataDir: await testPGlite(), schema: uniqueSchema() });
    await store.client.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await store.append('joined-1', [{ type: 'A', data: {} }]);
    });
    expect((await store.streamInfo('joined-1')).version).toBe(1);

    // Rolled back with the transaction it joined.
    await store.client
      .transaction(async () => {
        await store.append('joined-2', [{ type: 'A', data: {} }]);
        throw new Error('the step failed');
      })
      .catch(() => undefined);
    expect((await store.streamInfo('joined-2')).exists).toBe(false);

    // A refused append inside the transaction undoes only itself.
    await store.client.transaction(async () => {
      await store.append('joined-3', [{ type: 'A', data: {} }]);
      await store.append('joined-3', [{ type: 'B', data: {} }], { expectedVersion: 0 }).catch(() => undefined);
      await store.append('joined-3', [{ type: 'C', data: {} }], { expectedVersion: 1 });
    });
    expect((await store.loadStream('joined-3')).events.map((e) => e.type)).toEqual(['A', 'C']);
  });
});
