// Optimistic concurrency on a real PostgreSQL server with real parallel connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConcurrencyError, type ConcurrencyError } from '../../../core/errors.js';
import { uuidv7 } from '../../../core/uuid.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../../../test/stores.js';
import { openPostgresEventStore, type PostgresEventStore } from '../../postgres/postgres-event-store.js';

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

  it("16 writers appending with 'any' to one stream all succeed, each batch at consecutive versions", async () => {
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, w) =>
        (async () => {
          const mine: Array<{ ids: string[]; last: number }> = [];
          for (let i = 0; i < 10; i++) {
            const ids = [uuidv7(), uuidv7(), uuidv7()];
            const result = await store.append('any-1', ids.map((id) => ({ id, type: 'Added', data: { w, i } })));
            mine.push({ ids, last: result.nextExpectedVersion });
          }
          return mine;
        })(),
      ),
    );
    const { events } = await store.loadStream('any-1');
    expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: 480 }, (_, i) => i + 1));
    const at = new Map(events.map((e) => [e.id, e.streamVersion]));
    for (const { ids, last } of results.flat()) expect(ids.map((id) => at.get(id))).toEqual([last - 2, last - 1, last]);
  });

  it('the same append sent on 8 connections at once is written once; every caller gets its result', async () => {
    for (const expectedVersion of ['any', 'no_stream'] as const) {
      const stream = `dup-${expectedVersion}`;
      const events = [uuidv7(), uuidv7()].map((id) => ({ id, type: 'Sent', data: {} }));
      const results = await Promise.all(Array.from({ length: 8 }, () => store.append(stream, events, { expectedVersion })));
      expect(results.filter((r) => !r.alreadyAppended)).toHaveLength(1);
      for (const result of results) expect(result.positions).toEqual(results[0]!.positions);
      expect((await store.loadStream(stream)).events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    }
  });

  it('a tombstone racing 8 writers leaves no event behind, and every later append is refused', async () => {
    let stop = false;
    const refused: unknown[] = [];
    // Half append with 'any', half at the exact version they last saw (the single-event INSERT).
    const writers = Array.from({ length: 8 }, async (_, w) => {
      let version = 0;
      for (let i = 0; !stop || i < 5; i++) {
        try {
          const expectedVersion = w % 2 ? version : 'any';
          version = (await store.append('doomed-1', [{ type: 'Written', data: { w, i } }], { expectedVersion })).nextExpectedVersion;
        } catch (error) {
          if (isConcurrencyError(error)) {
            version = error.actualVersion;
            continue;
          }
          refused.push(error);
          if (stop) return;
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await store.tombstoneStream('doomed-1');
    stop = true;
    await Promise.all(writers);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) expect(error).toMatchObject({ code: 'STREAM_TOMBSTONED' });
    expect((await store.loadStream('doomed-1')).events).toEqual([]);
    const left: string[] = [];
    for await (const event of store.readAll()) if (event.streamId === 'doomed-1') left.push(event.id);
    expect(left).toEqual([]);
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
