// Bulk import on every store: order, versions after existing events, atomic batches, progress,
// resumable failures, and gap safety while appends run beside it.
import { afterAll, expect, it } from 'vitest';
import { uuidv7 } from '../../core/uuid.js';
import type { RecordedEvent } from '../../core/message.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';
import { importEvents, type ImportEvent, type ImportProgress } from './import-events.js';
import { InlineProjections } from '../../projections/inline-projections.js';
import { defineProjection, tableNamer } from '../../projections/projection.js';
import { sqlAccess } from '../sql-access.js';
import { describeOnStores } from '../../../test/describe-on-stores.js';

afterAll(() => dropSchemas(createdSchemas));

function* generate(count: number, streams: number): Generator<ImportEvent> {
  for (let i = 0; i < count; i++) yield { id: uuidv7(), streamId: `imp-${i % streams}`, type: 'Imported', data: { i } };
}

async function all(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

describeOnStores('importEvents', (on) => {
  it('imports in order, after the events a stream already has, with progress per batch', async () => {
    const store = await on.open();
    await store.append('imp-0', [{ type: 'Before', data: {} }, { type: 'Before', data: {} }]);
    await store.append('imp-1', [{ type: 'Before', data: {} }]);
    await store.deleteStream('imp-1');
    const progress: ImportProgress[] = [];
    const input = [...generate(5000, 50)];
    const result = await importEvents(store, input, { batchSize: 1200, onProgress: (p) => progress.push(p) });
    expect(result.events).toBe(5000);
    expect(progress.map((p) => p.events)).toEqual([1200, 2400, 3600, 4800, 5000]);
    expect(result.lastPosition).toBe(await store.headPosition());

    const imported = await all(store.readAll({ types: ['Imported'] }));
    expect(imported.map((e) => e.id)).toEqual(input.map((e) => e.id));
    const positions = imported.map((e) => e.globalPosition);
    expect(positions.every((p, i) => i === 0 || p === positions[i - 1]! + 1n)).toBe(true);
    // Versions continue after what each stream had (a soft-deleted stream is recreated).
    const zero = (await store.loadStream('imp-0')).events;
    expect(zero.map((e) => e.streamVersion)).toEqual(Array.from({ length: 102 }, (_, i) => i + 1));
    expect(await store.streamInfo('imp-1')).toMatchObject({ exists: true, version: 101 });
    expect((await store.loadStream('imp-1')).events[0]!.streamVersion).toBe(2);
    await store.close();
  });

  it('streams its input and stops with a typed error that says how far it got', async () => {
    const store = await on.open();
    await store.append('dead-1', [{ type: 'X', data: {} }]);
    await store.tombstoneStream('dead-1');
    async function* input(): AsyncGenerator<ImportEvent> {
      yield* generate(2500, 10);
      yield { streamId: 'dead-1', type: 'Imported', data: {} };
    }
    const error = await importEvents(store, input(), { batchSize: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STREAM_TOMBSTONED', details: { imported: 2000 } });
    // The failing batch wrote nothing; the ones before it are all there.
    expect(await all(store.readAll({ types: ['Imported'] }))).toHaveLength(2000);

    const bad = await importEvents(store, [{ streamId: 'ok-1', type: 'Imported', data: { f: () => 1 } } as never]).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'INVALID_EVENT' });
    const badStream = await importEvents(store, [{ streamId: '', type: 'Imported', data: {} }]).catch((e: unknown) => e);
    expect(badStream).toMatchObject({ code: 'INVALID_STREAM_ID' });
    await store.close();
  });

  it('rejects an id that is already in the log and writes nothing of that batch', async () => {
    const store = await on.open();
    const id = uuidv7();
    await store.append('s-1', [{ id, type: 'X', data: {} }]);
    const error = await importEvents(store, [{ streamId: 's-2', type: 'Y', data: {} }, { id, streamId: 's-3', type: 'Y', data: {} }]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', details: { imported: 0 } });
    expect((await store.streamInfo('s-2')).exists).toBe(false);
    await store.close();
  });

  it('runs inline projections in each batch, so the read model never disagrees with the log', async () => {
    const store = await on.open();
    const seen: string[] = [];
    const counted = defineProjection({
      name: 'imported-count',
      tables: { counts: (t) => `CREATE TABLE ${t} (stream_id text PRIMARY KEY, n integer NOT NULL)` },
      handlers: {
        Imported: (event, { sql, table }) => {
          if ((event.data as { poison?: boolean }).poison) throw new Error('the read model refuses this event');
          seen.push(event.id);
          return sql?.query(
            `INSERT INTO ${table('counts')} VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = ${table('counts')}.n + 1`,
            [event.streamId],
          ).then(() => undefined);
        },
      },
    });
    const inline = await new InlineProjections(store, [counted]).start();
    const input = [...generate(900, 3)];
    await importEvents(store, input, { batchSize: 300 });
    expect(seen).toEqual(input.map((e) => e.id));
    const poisoned = await importEvents(store, [...generate(10, 1), { streamId: 'imp-0', type: 'Imported', data: { poison: true } }]).catch((e: unknown) => e);
    expect(poisoned).toMatchObject({ details: { imported: 0 } });
    expect(await all(store.readAll({ types: ['Imported'] }))).toHaveLength(900);
    const sql = sqlAccess(store);
    if (sql) {
      const { rows } = await sql.client.query<{ n: number }>(`SELECT sum(n)::int AS n FROM ${tableNamer(counted, sql.names.s)('counts')}`);
      expect(rows[0]!.n).toBe(900);
    }
    await inline.stop();
    await store.close();
  });

  it('keeps $all gap-safe while appends run beside the import', async () => {
    const store = await on.open();
    const appends = (async () => {
      for (let i = 0; i < 100; i++) await store.append(`live-${i % 5}`, [{ type: 'Live', data: { i } }]);
    })();
    await importEvents(store, generate(6000, 20), { batchSize: 500 });
    await appends;
    const events = await all(store.readAll());
    expect(events).toHaveLength(6100);
    expect(new Set(events.map((e) => e.id)).size).toBe(6100);
    const positions = events.map((e) => e.globalPosition);
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
    await store.close();
  });
});
