// The database connection dies in the middle of an append: the caller gets a typed error, and a
// retry with the same event ids writes the batch exactly once, whether or not the first commit landed.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isFactumError } from '../../core/errors.js';
import { uuidv7 } from '../../core/uuid.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { createdSchemas, dropSchemas, openTestPostgres } from '../../../test/stores.js';

const skip = await postgresUnavailable();

/** Runs `call` again after a STORAGE_ERROR, up to three times in all. */
async function retryStorageErrors<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt === 3 || (error as { code?: string }).code !== 'STORAGE_ERROR') throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`a connection lost mid-append${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('fails with STORAGE_ERROR, then an idempotent retry leaves the batch in the log exactly once', async () => {
    const store = await openTestPostgres({ maxConnections: 2 });
    const killer = new pg.Client({ connectionString: POSTGRES_URL });
    await killer.connect();
    try {
      let failures = 0;
      for (let round = 0; round < 4; round++) {
        const batch = Array.from({ length: 10_000 }, (_, i) => ({ id: uuidv7(), type: 'Imported', data: { round, i, pad: 'x'.repeat(300) } }));
        const append = store.append(`import-${round}`, batch, { expectedVersion: 'no_stream' }).then(
          () => 'committed',
          (error: unknown) => error,
        );
        // Kill this store's busy backend (only this schema's: other tests share the database),
        // at a different moment each round.
        await new Promise((resolve) => setTimeout(resolve, 10 + round * 25));
        await killer.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE pid <> pg_backend_pid() AND state = 'active' AND datname = current_database() AND position($1 in query) > 0`,
          [`${store.names.s}append_events`],
        );
        const outcome = await append;
        if (outcome !== 'committed') {
          failures++;
          expect(isFactumError(outcome)).toBe(true);
          expect((outcome as { code: string }).code).toBe('STORAGE_ERROR');
          expect((outcome as Error).cause).toBeDefined();
        }
        // The retry a careful caller makes: same ids, same expected version, a few times (a kill
        // that lands just after a statement ended leaves a dead connection in the pool, and pg
        // may hand it out once before it sees it close).
        const retried = await retryStorageErrors(() => store.append(`import-${round}`, batch, { expectedVersion: 'no_stream' }));
        expect(retried.nextExpectedVersion).toBe(10_000);
        const { events } = await store.loadStream(`import-${round}`);
        expect(events.map((e) => e.id)).toEqual(batch.map((e) => e.id));
      }
      // At least one kill must have hit an append in flight, or this test proved nothing.
      expect(failures).toBeGreaterThan(0);
    } finally {
      await killer.end();
      await store.close();
    }
  }, 120_000);

  it('fails batched single-event appends with STORAGE_ERROR when their statement dies; retries write each event exactly once', async () => {
    const store = await openTestPostgres();
    const killer = new pg.Client({ connectionString: POSTGRES_URL });
    await killer.connect();
    let running = true;
    try {
      const appends = Array.from({ length: 3000 }, (_, i) => ({ stream: `order-${i}`, event: { id: uuidv7(), type: 'Placed', data: { i, pad: 'x'.repeat(2000) } } }));
      // Kill this store's backends while they run a batched INSERT (only this schema's: others share the database).
      const killing = (async () => {
        while (running) {
          await killer.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE pid <> pg_backend_pid() AND state = 'active' AND datname = current_database() AND position($1 in query) > 0 AND position('jsonb_array_elements' in query) > 0`,
            [`${store.names.s}events`],
          );
        }
      })();
      // 16 writers at a time, so that appends queue and share statements.
      const outcomes: unknown[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < appends.length; i = next++) {
            const { stream, event } = appends[i]!;
            outcomes[i] = await store.append(stream, [event], { expectedVersion: 'no_stream' }).then(() => 'committed', (error: unknown) => error);
          }
        }),
      );
      running = false;
      await killing;
      const failed = outcomes.flatMap((outcome, i) => (outcome === 'committed' ? [] : [i]));
      expect(failed.length).toBeGreaterThan(0);
      for (const i of failed) expect(outcomes[i]).toMatchObject({ code: 'STORAGE_ERROR' });
      for (const i of failed) {
        const { stream, event } = appends[i]!;
        expect((await retryStorageErrors(() => store.append(stream, [event], { expectedVersion: 'no_stream' }))).nextExpectedVersion).toBe(1);
      }
      const { rows } = await store.client.query<{ n: string; ids: string }>(`SELECT count(*)::text AS n, count(DISTINCT event_id)::text AS ids FROM ${store.names.s}events`);
      expect(rows[0]).toEqual({ n: String(appends.length), ids: String(appends.length) });
    } finally {
      running = false;
      await killer.end();
      await store.close();
    }
  }, 120_000);
});
