// Gap safety of $all on a real PostgreSQL server: concurrent writers, rolled-back appends, a
// transaction held open for seconds, and a reader running all along.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/message.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { rawAppend } from '../../../test/raw-append.js';
import { dropSchemas, uniqueSchema } from '../../../test/stores.js';
import { openPostgresEventStore, type PostgresEventStore } from '../postgres/postgres-event-store.js';

const skip = await postgresUnavailable();
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  return client;
}

describe.skipIf(Boolean(skip))(`gap-safe reads of $all${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let store: PostgresEventStore;
  beforeAll(async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 8 });
  });
  afterAll(() => store.close());

  it('readers running all along, side by side on one store object, see every committed event exactly once, in position order', async () => {
    let writing = true;
    let sawWait = false;
    // Several readers share the store object (as subscriptions do), so their observations of
    // open appends interleave; each must still never pass an event that commits later.
    const read = async (limit: number): Promise<RecordedEvent[]> => {
      const seen: RecordedEvent[] = [];
      let after = 0n;
      for (;;) {
        const page = await store.readAllPage({ after, limit });
        for (const event of page.events) {
          // Never a position at or below one already passed.
          expect(event.globalPosition > after).toBe(true);
          after = event.globalPosition;
          seen.push(event);
        }
        if (page.waitingOn) sawWait = true;
        expect(page.position >= after).toBe(true);
        after = page.position;
        if (!writing && !page.waitingOn && page.position === (await store.headPosition())) return seen;
        await sleep(page.events.length ? 0 : Math.random() * 3);
      }
    };
    const readers = Promise.all([read(50), read(7), read(200), read(1)]);

    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 150; i++) await store.append(`w${w}-${i % 10}`, [{ type: 'Written', data: { w, i } }]);
    });
    // Transactions that draw positions and roll back leave holes the reader must pass.
    const rollbacks = (async () => {
      const client = await connect();
      for (let i = 0; i < 40; i++) {
        await client.query('BEGIN');
        await rawAppend(client, store, `rolled-${i}`);
        await sleep(Math.random() * 5);
        await client.query('ROLLBACK');
      }
      await client.end();
    })();
    // Transactions that commit late, out of position order.
    const late = (async () => {
      const client = await connect();
      for (let i = 0; i < 30; i++) {
        await client.query('BEGIN');
        await rawAppend(client, store, `late-${i}`);
        await sleep(Math.random() * 20);
        await client.query('COMMIT');
      }
      await client.end();
    })();
    // One append held open for seconds: the reader must wait for it, not skip it.
    const held = (async () => {
      const client = await connect();
      await client.query('BEGIN');
      await rawAppend(client, store, 'held-1');
      await sleep(2500);
      await client.query('COMMIT');
      await client.end();
    })();

    await Promise.all([...writers, rollbacks, late, held]);
    writing = false;
    const seenByReader = await readers;

    const committed = await store.client.query<{ event_id: string }>(`SELECT event_id FROM ${store.names.s}events ORDER BY global_position`);
    expect(committed.rows.length).toBe(4 * 150 + 30 + 1);
    for (const seen of seenByReader) {
      expect(seen.map((e) => e.id)).toEqual(committed.rows.map((r) => r.event_id));
      expect(seen.some((e) => e.streamId === 'held-1')).toBe(true);
      expect(seen.some((e) => e.streamId.startsWith('rolled-'))).toBe(false);
    }
    expect(sawWait).toBe(true);
  });

  it('an open append shows up as lag with its position, pid and start time', async () => {
    const before = await store.append('lag-1', [{ type: 'Before', data: {} }]);
    const client = await connect();
    try {
      await client.query('BEGIN');
      await rawAppend(client, store, 'lag-2');
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const after = await store.append('lag-3', [{ type: 'After', data: {} }]);
      const page = await store.readAllPage({ after: before.lastPosition });
      expect(page.events).toEqual([]);
      expect(page.position).toBe(before.lastPosition);
      expect(page.headPosition).toBe(after.lastPosition);
      expect(page.waitingOn?.position).toBe(before.lastPosition + 1n);
      expect(page.waitingOn?.pids).toContain(pid);
      expect(page.waitingOn?.since).toBeInstanceOf(Date);
      await client.query('COMMIT');
      const next = await store.readAllPage({ after: before.lastPosition });
      expect(next.events.map((e) => e.streamId)).toEqual(['lag-2', 'lag-3']);
      expect(next.waitingOn).toBeUndefined();
    } finally {
      await client.end();
    }
  });

  it('a long transaction that appends no events does not hold readers back', async () => {
    const client = await connect();
    try {
      // A report or migration that writes elsewhere: it has a transaction id and stays open.
      await client.query('BEGIN');
      await client.query(`CREATE TABLE ${store.names.s}unrelated (n int)`);
      await client.query(`INSERT INTO ${store.names.s}unrelated VALUES (1)`);
      const start = await store.headPosition();
      const appended = await store.append('free-1', [{ type: 'NotHeldBack', data: {} }]);
      const page = await store.readAllPage({ after: start });
      expect(page.events.map((e) => e.id)).toEqual([(await store.loadStream('free-1')).events[0]!.id]);
      expect(page.position).toBe(appended.lastPosition);
      expect(page.waitingOn).toBeUndefined();
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });
});
