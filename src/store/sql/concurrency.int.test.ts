// Optimistic concurrency on a real PostgreSQL server with real parallel connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConcurrencyError, type ConcurrencyError } from '../../core/errors.js';
import { uuidv7 } from '../../core/uuid.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../../test/stores.js';
import { openPostgresEventStore, type PostgresEventStore } from '../postgres/postgres-event-store.js';

const skip = await postgresUnavailable();
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

describe.skipIf(Boolean(skip))(`32 connections appending to one stream${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let store: PostgresEventStore;
  beforeAll(async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 32 });
  });
  afterAll(() => store.close());

  it('writes every version exactly once; every loser gets the typed conflict error', async () => {
    const workers = 32;
    const perWorker = 8;
    const written = new Map<string, number>();
    const conflicts: ConcurrencyError[] = [];
    const others: unknown[] = [];
    await Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        for (let i = 0; i < perWorker; ) {
          const { version } = await store.streamInfo('hot-1');
          const id = uuidv7();
          try {
            const result = await store.append('hot-1', [{ id, type: 'Incremented', data: { worker, i } }], { expectedVersion: version });
            written.set(id, result.nextExpectedVersion);
            i++;
          } catch (error) {
            if (isConcurrencyError(error)) conflicts.push(error);
            else others.push(error);
          }
        }
      }),
    );
    expect(others).toEqual([]);
    const { events, info } = await store.loadStream('hot-1');
    expect(info.version).toBe(workers * perWorker);
    expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: workers * perWorker }, (_, i) => i + 1));
    // Each successful append is in the log once, at the version it was told.
    expect(events.map((e) => [e.id, e.streamVersion])).toEqual(events.map((e) => [e.id, written.get(e.id)]));
    expect(written.size).toBe(workers * perWorker);
    expect(conflicts.length).toBeGreaterThan(0);
    for (const conflict of conflicts) {
      expect(conflict.actualVersion).toBeGreaterThan(Number(conflict.expectedVersion.replace('version ', '')));
    }
  });

  it('when 32 writers expect the same version at once, exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const { version } = await store.streamInfo('race-1');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 32 }, (_, w) => store.append('race-1', [{ type: 'Raced', data: { w } }], { expectedVersion: version })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(31);
      for (const loss of lost) expect(loss.reason).toMatchObject({ code: 'CONCURRENCY_CONFLICT', actualVersion: version + 1 });
    }
    expect((await store.streamInfo('race-1')).version).toBe(5);
  });

  it('32 writers creating one new stream with no_stream: one creates it, the rest conflict', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 32 }, (_, w) => store.append('fresh-1', [{ type: 'Created', data: { w } }], { expectedVersion: 'no_stream' })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(isConcurrencyError(o.reason)).toBe(true);
    expect((await store.loadStream('fresh-1')).events).toHaveLength(1);
  });

  it('a conflict keeps its connection: the pool does not reconnect after a refused append', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const single = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 1 });
    try {
      const pid = async () => (await single.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await single.append('c-1', [{ type: 'A', data: {} }]);
      const before = await pid();
      for (let i = 0; i < 3; i++) {
        const error = await single.append('c-1', [{ type: 'B', data: {} }], { expectedVersion: 0 }).catch((e: unknown) => e);
        expect(isConcurrencyError(error)).toBe(true);
      }
      expect(await pid()).toBe(before);
    } finally {
      await single.close();
    }
  });
});
