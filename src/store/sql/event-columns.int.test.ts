// Event rows are read with factum's own parsers, on a real PostgreSQL server.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { createdSchemas, dropSchemas, openTestPostgres } from '../../../test/stores.js';
import { parseTimestamptz } from './parse-timestamptz.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`event rows on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('parses timestamptz as the server writes it, in time zones with odd offsets, to the millisecond', async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Kiritimati', 'America/Sao_Paulo']) {
        await client.query(`SET TIME ZONE '${zone}'`);
        // Dates before standard time (local mean time offsets in seconds), microsecond fractions, DST edges.
        const { rows } = await client.query<{ text: string; millis: string }>(`
          SELECT t::text AS text, floor(extract(epoch FROM t) * 1000)::bigint::text AS millis
            FROM (SELECT timestamptz '1890-03-01 00:00:00.5+00' + n * interval '1 day 7 hours 13 minutes 1.123457 seconds' AS t
                    FROM generate_series(0, 60000, 7) AS n) AS x`);
        for (const row of rows) expect(parseTimestamptz(row.text).getTime(), `${zone}: ${row.text}`).toBe(Number(row.millis));
      }
    } finally {
      await client.end();
    }
  });

  it("reads streams and $all with factum's parsers, whatever parsers the process installed in pg", async () => {
    const store = await openTestPostgres({ maxConnections: 2 });
    const replaced = [20, 23, 1184, 3802].map((oid) => [oid, pg.types.getTypeParser(oid)] as const);
    try {
      const appended = await store.append('order-1', [{ type: 'Placed', data: { total: 3 }, metadata: { userId: 'u-1' } }]);
      // What a user's own setup might do to every pg query of the process.
      for (const [oid] of replaced) pg.types.setTypeParser(oid, (text: string) => `custom:${text}`);
      const fromStream = [];
      for await (const event of store.readStream('order-1')) fromStream.push(event);
      const page = await store.readAllPage({ after: 0n });
      expect(page.headPosition).toBe(appended.lastPosition);
      expect(await store.headPosition()).toBe(appended.lastPosition);
      for (const events of [fromStream, page.events]) {
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ type: 'Placed', data: { total: 3 }, metadata: { userId: 'u-1' }, schemaVersion: 1, streamVersion: 1, globalPosition: appended.lastPosition });
        expect(events[0]!.recordedAt).toBeInstanceOf(Date);
        expect(Math.abs(events[0]!.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
      }
    } finally {
      for (const [oid, parser] of replaced) pg.types.setTypeParser(oid, parser);
      await store.close();
    }
  });
});
