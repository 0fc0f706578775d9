import type pg from 'pg';
import { uuidv7 } from '../src/core/uuid.js';
import type { SqlEventStore } from '../src/store/sql/sql-event-store.js';

/**
 * Appends one event through the store's SQL function on a connection the test controls, so a
 * test can hold the append's transaction open (BEGIN first) or roll it back.
 */
export async function rawAppend(client: pg.Client, store: SqlEventStore, streamId: string, type = 'Manual'): Promise<void> {
  await client.query(`SELECT * FROM ${store.names.s}append_events($1, 'any', NULL, $2::jsonb, true, NULL)`, [
    streamId,
    JSON.stringify([{ i: uuidv7(), t: type, d: {}, m: {}, v: 1 }]),
  ]);
}
