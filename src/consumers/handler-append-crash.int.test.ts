// A subscriber process SIGKILLed after its handler appended, before the commit: neither the
// event nor the checkpoint (nor the handler's row) survives, and after a restart the event is
// appended exactly once (real processes, real PostgreSQL).
import { afterAll, describe, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { createAckTable } from '../../test/runner-suites/appending-subscriber.js';
import { expectRolledBackThenAppendedOnce } from '../../test/runner-suites/expect-appended-once.js';
import { kill, spawnWorker } from '../../test/runner-suites/processes.js';
import { ev, eventually } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`crash between a handler's append and its commit${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('leaves neither the appended event nor the checkpoint; after a restart the event is appended once', { timeout: 60_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    try {
      await createAckTable(store);
      const placed = await store.append('order-1', [ev('OrderPlaced')]);
      const worker = spawnWorker('appending-worker.ts', ['postgres', POSTGRES_URL, schema]);
      try {
        await worker.ready;
        await eventually(() => worker.output().includes('appended'), 20_000, 'the handler appended');
      } finally {
        await kill(worker);
      }
      // The killed session's transaction is rolled back once the server notices the closed socket.
      await eventually(async () => (await store.client.query(`SELECT 1 FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND query LIKE $1`, [`%${schema}%`])).rows.length === 0, 20_000, 'the killed transaction is gone');
      await expectRolledBackThenAppendedOnce(store, placed.lastPosition);
    } finally {
      await store.close();
    }
  });
});
