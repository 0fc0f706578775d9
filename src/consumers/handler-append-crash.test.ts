// A subscriber process SIGKILLed after its handler appended, before the commit, on a PGlite
// directory: reopened, the store holds neither the event nor the checkpoint (nor the handler's
// row), and the restarted subscription appends the event exactly once (real process, real files).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { openPGliteEventStore } from '../store/pglite/pglite-event-store.js';
import { createAckTable } from '../../test/runner-suites/appending-subscriber.js';
import { expectRolledBackThenAppendedOnce } from '../../test/runner-suites/expect-appended-once.js';
import { kill, spawnWorker } from '../../test/runner-suites/processes.js';
import { ev, eventually } from '../../test/runner-suites/helpers.js';

describe('crash between a handler\'s append and its commit: pglite', () => {
  it('leaves neither the appended event nor the checkpoint; after a restart the event is appended once', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'factum-happend-'));
    try {
      let store = await openPGliteEventStore({ dataDir });
      await createAckTable(store);
      const placed = await store.append('order-1', [ev('OrderPlaced')]);
      await store.close();
      const worker = spawnWorker('appending-worker.ts', ['pglite', dataDir]);
      try {
        await worker.ready;
        await eventually(() => worker.output().includes('appended'), 60_000, 'the handler appended');
      } finally {
        await kill(worker);
      }
      store = await openPGliteEventStore({ dataDir });
      try {
        await expectRolledBackThenAppendedOnce(store, placed.lastPosition);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
