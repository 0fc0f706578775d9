// Concurrent single-event appends share statements on PostgreSQL; each must still get exactly
// the outcome it would get alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConcurrencyError } from '../../../core/errors.js';
import { uuidv7 } from '../../../core/uuid.js';
import { caught } from '../../../../test/caught.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../../test/services.js';
import { createdSchemas, dropSchemas, openTestPostgres, uniqueSchema } from '../../../../test/stores.js';
import { openPostgresEventStore, type PostgresEventStore } from '../../postgres/postgres-event-store.js';
import { openEventStore } from '../../open-event-store.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`batched single-event appends on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let store: PostgresEventStore;
  beforeAll(async () => {
    store = await openTestPostgres({ maxConnections: 8 });
  });
  afterAll(() => store.close());

  it('gives every append of a concurrent mix the outcome it would get alone', async () => {
    const reused = uuidv7();
    await store.append('exists-1', [{ type: 'Seed', data: {} }, { type: 'Seed', data: {} }]);
    await store.append('gone-1', [{ type: 'Seed', data: {} }]);
    await store.tombstoneStream('gone-1');
    await store.append('deleted-1', [{ type: 'Seed', data: {} }]);
    await store.deleteStream('deleted-1');
    await store.append('taken-1', [{ id: reused, type: 'Seed', data: {} }]);

    // Many rounds of appends started together, so that they queue and share statements.
    for (let round = 0; round < 5; round++) {
      const fresh = Array.from({ length: 40 }, (_, i) => store.append(`new-${round}-${i}`, [{ type: 'Created', data: { i } }], { expectedVersion: 'no_stream' }));
      const outcomes = await Promise.all([
        ...fresh.map((p) => p.then((r) => ['ok', r.nextExpectedVersion] as const)),
        caught(store.append('exists-1', [{ type: 'Stale', data: {} }], { expectedVersion: 1 })).then((e) => ['stale', e.code, (e as ConcurrencyError).actualVersion] as const),
        caught(store.append('exists-1', [{ type: 'New', data: {} }], { expectedVersion: 'no_stream' })).then((e) => ['not new', e.code] as const),
        caught(store.append(`missing-${round}`, [{ type: 'X', data: {} }], { expectedVersion: 'stream_exists' })).then((e) => ['missing', e.code] as const),
        caught(store.append('gone-1', [{ type: 'X', data: {} }])).then((e) => ['gone', e.code] as const),
        caught(store.append(`other-${round}`, [{ id: reused, type: 'X', data: {} }])).then((e) => ['reused id', e.code] as const),
      ]);
      expect(outcomes.slice(0, 40)).toEqual(fresh.map(() => ['ok', 1]));
      expect(outcomes.slice(40)).toEqual([
        ['stale', 'CONCURRENCY_CONFLICT', 2],
        ['not new', 'CONCURRENCY_CONFLICT'],
        ['missing', 'CONCURRENCY_CONFLICT'],
        ['gone', 'STREAM_TOMBSTONED'],
        ['reused id', 'IDEMPOTENCY_CONFLICT'],
      ]);
    }
    // A soft-deleted stream comes back, its versions continuing, as it does alone.
    const [back] = await Promise.all([store.append('deleted-1', [{ type: 'Back', data: {} }], { expectedVersion: 'no_stream' }), store.append('x-1', [{ type: 'X', data: {} }])]);
    expect(back.nextExpectedVersion).toBe(2);
    expect((await store.streamInfo('deleted-1')).exists).toBe(true);

    // Nothing but what succeeded was written, and appends did share transactions.
    const { rows } = await store.client.query<{ events: string; transactions: string }>(
      `SELECT count(*)::text AS events, count(DISTINCT recorded_at)::text AS transactions FROM ${store.names.s}events WHERE stream_id LIKE 'new-%'`);
    expect(Number(rows[0]!.events)).toBe(200);
    expect(Number(rows[0]!.transactions)).toBeLessThan(200);
    expect((await store.loadStream('exists-1')).events).toHaveLength(2);
    expect((await store.streamInfo('gone-1')).tombstoned).toBe(true);
  });

  it('keeps per-stream order and versions when many writers share few streams', async () => {
    const writers = 24;
    const perWriter = 10;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) await store.append(`shared-${w % 4}`, [{ type: 'Written', data: { w, i } }]);
      }),
    );
    for (let s = 0; s < 4; s++) {
      const { events } = await store.loadStream(`shared-${s}`);
      expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: (writers / 4) * perWriter }, (_, i) => i + 1));
      for (let w = s; w < writers; w += 4) {
        const mine = events.filter((e) => (e.data as { w: number }).w === w).map((e) => (e.data as { i: number }).i);
        expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => i));
      }
      const positions = events.map((e) => e.globalPosition);
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    }
  });

  it('sends one statement per append when openEventStore is told appendBatching: false', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const unbatched = (await openEventStore(POSTGRES_URL, { schema, appendBatching: false, maxConnections: 4 })) as PostgresEventStore;
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => unbatched.append(`alone-${i}`, [{ type: 'Created', data: { i } }])));
      const { rows } = await unbatched.client.query<{ transactions: string }>(`SELECT count(DISTINCT recorded_at)::text AS transactions FROM ${unbatched.names.s}events`);
      // One transaction each (two may start in the same microsecond; batched, 40 appends take a handful).
      expect(Number(rows[0]!.transactions)).toBeGreaterThan(35);
    } finally {
      await unbatched.close();
    }
  });

  it('refuses batching settings that could never send an append', async () => {
    for (const appendBatching of [{ maxInFlight: 0, maxBatch: 64 }, { maxInFlight: 2 }, { maxInFlight: 2, maxBatch: 1.5 }]) {
      const error = await caught(openPostgresEventStore({ connection: POSTGRES_URL, schema: 'never_created', appendBatching: appendBatching as never }));
      expect(error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
