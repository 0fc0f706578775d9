// store.transaction on the real PostgreSQL server: a backend killed mid-transaction, readers of
// $all beside a transaction held open, and appends inside transactions racing plain ones.
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { caught } from '../../../test/caught.js';
import { gate } from '../../../test/gate.js';
import { createdSchemas, dropSchemas, openTestPostgres } from '../../../test/stores.js';
import type { PostgresEventStore } from '../postgres/postgres-event-store.js';
import { appendChannel } from './sql-names.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(Boolean(skip))(`store.transaction on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const stores: PostgresEventStore[] = [];
  const clients: pg.Client[] = [];
  const open = async () => {
    const store = await openTestPostgres({ maxConnections: 6 });
    stores.push(store);
    await store.client.exec(`CREATE TABLE ${store.names.s}accounts (id text PRIMARY KEY, balance integer NOT NULL)`);
    return store;
  };
  const connect = async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end();
    for (const store of stores.splice(0)) await store.close();
  });
  const rows = async (store: PostgresEventStore) => (await store.client.query<{ id: string }>(`SELECT id FROM ${store.names.s}accounts ORDER BY id`)).rows.map((r) => r.id);

  /** Kills a backend and waits until the server has let it go. */
  const kill = async (killer: pg.Client, pid: number) => {
    await killer.query('SELECT pg_terminate_backend($1)', [pid]);
    while ((await killer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rows.length) await sleep(5);
  };

  for (const when of ['at the next statement', 'with the error caught by the callback', 'at COMMIT'] as const) {
    it(`a backend killed mid-callback fails the transaction with STORAGE_ERROR (${when}) and commits nothing`, async () => {
      const store = await open();
      const killer = await connect();
      const error = await caught(
        store.transaction(async (tx) => {
          await tx.sql.query(`INSERT INTO ${store.names.s}accounts VALUES ('acc-1', 10)`);
          await tx.append('acc-1', [{ type: 'Opened', data: {} }], { expectedVersion: 'no_stream' });
          const { rows: [row] } = await tx.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await kill(killer, row!.pid);
          if (when === 'at the next statement') await tx.append('acc-1', [{ type: 'Deposited', data: { amount: 10 } }]);
          if (when === 'with the error caught by the callback') await tx.sql.query('SELECT 1').catch(() => undefined);
        }),
      );
      expect(error.code).toBe('STORAGE_ERROR');
      expect(error.cause).toBeDefined();
      expect((await store.streamInfo('acc-1')).exists).toBe(false);
      expect(await rows(store)).toEqual([]);
      // The pool threw the dead connection away: the next transaction goes through.
      await store.transaction(async (tx) => {
        await tx.sql.query(`INSERT INTO ${store.names.s}accounts VALUES ('acc-1', 10)`);
        await tx.append('acc-1', [{ type: 'Opened', data: {} }], { expectedVersion: 'no_stream' });
      });
      expect(await rows(store)).toEqual(['acc-1']);
    });
  }

  it('a reader of $all waits (lag) behind a transaction held open after appending, then sees its events after commit', async () => {
    const store = await open();
    const before = await store.append('acc-0', [{ type: 'Opened', data: {} }]);
    const held = gate();
    const appended = gate();
    let pid = 0;
    let positions: bigint[] = [];
    const transaction = store.transaction(async (tx) => {
      pid = (await tx.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      positions = (await tx.append('acc-1', [{ type: 'Opened', data: {} }])).positions;
      appended.open();
      await held.opened;
    });
    await appended.opened;
    // An append that commits meanwhile, at a later position, must not be passed either.
    const later = await store.append('acc-2', [{ type: 'Opened', data: {} }]);
    const page = await store.readAllPage({ after: before.lastPosition });
    expect(page.events).toEqual([]);
    expect(page.position).toBe(before.lastPosition);
    expect(page.headPosition).toBe(later.lastPosition);
    expect(page.waitingOn?.position).toBe(positions[0]);
    expect(page.waitingOn?.pids).toContain(pid);
    held.open();
    await transaction;
    const next = await store.readAllPage({ after: before.lastPosition });
    expect(next.events.map((e) => e.streamId)).toEqual(['acc-1', 'acc-2']);
    expect(next.waitingOn).toBeUndefined();
  });

  it('a transaction that has appended nothing (yet) holds no reader back', async () => {
    const store = await open();
    const held = gate();
    const wrote = gate();
    const transaction = store.transaction(async (tx) => {
      await tx.sql.query(`INSERT INTO ${store.names.s}accounts VALUES ('acc-1', 10)`);
      wrote.open();
      await held.opened;
      await tx.append('acc-1', [{ type: 'Opened', data: {} }]);
    });
    await wrote.opened;
    const appended = await store.append('acc-2', [{ type: 'Opened', data: {} }]);
    const page = await store.readAllPage();
    expect(page.events.map((e) => e.streamId)).toEqual(['acc-2']);
    expect(page.position).toBe(appended.lastPosition);
    expect(page.waitingOn).toBeUndefined();
    held.open();
    await transaction;
    expect((await store.readAllPage({ after: appended.lastPosition })).events.map((e) => e.streamId)).toEqual(['acc-1']);
  });

  it('a transaction that appended wakes subscribers in other processes when it commits (NOTIFY)', async () => {
    const store = await open();
    const listener = await connect();
    const channel = appendChannel(store.names);
    await listener.query(`LISTEN "${channel}"`);
    const woken = new Promise<void>((resolve) => listener.on('notification', (message) => message.channel === channel && resolve()));
    await store.transaction((tx) => tx.append('acc-1', [{ type: 'Opened', data: {} }]));
    // PostgreSQL delivers a NOTIFY only when its transaction commits.
    await woken;
  });

  it("appends with 'any' inside transactions racing plain appends on one stream all go through, at contiguous versions", async () => {
    const store = await open();
    for (let round = 0; round < 3; round++) {
      const stream = `hot-${round}`;
      const inside = Array.from({ length: 8 }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.sql.query(`INSERT INTO ${store.names.s}accounts VALUES ($1, 1)`, [`${stream}-${i}`]);
          return tx.append(stream, [{ type: 'Counted', data: { tx: i } }]);
        }),
      );
      const plain = Array.from({ length: 8 }, (_, i) => store.append(stream, [{ type: 'Counted', data: { plain: i } }]));
      const results = await Promise.all([...inside, ...plain]);
      expect(results.map((r) => r.nextExpectedVersion).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      const { events } = await store.loadStream(stream);
      expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    }
    expect(await rows(store)).toHaveLength(24);
  });
});
