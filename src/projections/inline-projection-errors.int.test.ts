// A database failure inside an inline projection, for real: the append's own backend is
// terminated (pg_terminate_backend) while the projection's handler runs in its transaction.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isFactumError } from '../core/errors.js';
import type { NewEvent } from '../core/message.js';
import { defineProjection } from './projection.js';
import { InlineProjections } from './inline-projections.js';
import { caught } from '../../test/caught.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';
import { createdSchemas, dropSchemas, openTestPostgres } from '../../test/stores.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`an inline projection whose connection dies${skip ? ` (skipped: ${skip})` : ''}`, () => {
  for (const count of [1, 3]) {
    it(`fails the append (${count} event${count > 1 ? 's' : ''}) with STORAGE_ERROR, and nothing of it is visible`, async () => {
      const store = await openTestPostgres({ maxConnections: 2 });
      const killer = new pg.Client({ connectionString: POSTGRES_URL });
      await killer.connect();
      try {
        const projection = defineProjection({
          name: 'doomed',
          tables: { seen: (t) => `CREATE TABLE ${t} (event_id uuid PRIMARY KEY)` },
          handlers: {
            Happened: async (event, { sql, table }) => {
              await sql!.query(`INSERT INTO ${table('seen')} VALUES ($1)`, [event.id]);
              const { rows } = await sql!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
              await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
              await sql!.query('SELECT 1');
            },
          },
        });
        await new InlineProjections(store, [projection]).start();
        const events: NewEvent[] = Array.from({ length: count }, (_, i) => ({ type: 'Happened', data: { i } }));
        const error = await caught(store.append('doomed-1', events));
        expect(isFactumError(error)).toBe(true);
        expect(error.code).toBe('STORAGE_ERROR');
        expect(error.message).toContain('inline projection "doomed"');
        // pg reports the kill as the server's FATAL 57P01, as the socket's end when that comes
        // first, or, to a statement sent after it noticed, as a client that is not queryable.
        const cause = error.cause as { code?: string; message: string };
        expect(cause.code === '57P01' || /^Connection terminated|connection error and is not queryable/.test(cause.message), cause.message).toBe(true);

        // Neither the events nor the read model's row: the transaction died with its connection.
        expect((await store.streamInfo('doomed-1')).version).toBe(0);
        expect((await store.readAllPage()).events).toEqual([]);
        const { rows } = await killer.query(`SELECT count(*)::int AS n FROM ${store.names.s}seen`);
        expect(rows[0].n).toBe(0);
      } finally {
        await killer.end();
        await store.close();
      }
    });
  }
});
