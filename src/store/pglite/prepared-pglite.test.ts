import * as pgliteModule from '@electric-sql/pglite';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PGliteLike } from './pglite-client.js';
import { preparedPGlite, type PGliteModuleLike } from './prepared-pglite.js';

const module = pgliteModule as unknown as PGliteModuleLike;

/** How many statements the session holds prepared. */
const preparedCount = async (db: PGlite) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements')).rows[0]!.n;

describe('prepared PGlite statements', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = await PGlite.create('memory://');
    await db.exec(`CREATE TABLE t (id bigint PRIMARY KEY, doc jsonb, at timestamptz, u uuid, ok boolean, tags text[], note text)`);
  });
  afterAll(() => db.close());

  it('returns what PGlite query returns, for every type the store reads and writes', async () => {
    const prepared = preparedPGlite(db, module);
    const params = [7n, JSON.stringify({ a: [1, 'x'], b: null }), new Date('2026-01-02T03:04:05.678Z'), '0190a4b2-0000-7000-8000-000000000001', true, ['a', 'b,c', 'd"e'], null];
    const insert = 'INSERT INTO t VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7) RETURNING *';
    const inserted = await prepared.query(insert, params);
    expect(inserted.rows).toEqual([{ id: 7, doc: { a: [1, 'x'], b: null }, at: new Date('2026-01-02T03:04:05.678Z'), u: params[3], ok: true, tags: ['a', 'b,c', 'd"e'], note: null }]);

    const select = 'SELECT * FROM t WHERE id = $1';
    const viaQuery = await db.query(select, [7]);
    const viaPrepared = await prepared.query(select, [7]);
    expect(viaPrepared.rows).toEqual(viaQuery.rows);
    expect(await prepared.query(select, [8])).toEqual(expect.objectContaining({ rows: [] }));
    expect(await preparedCount(db)).toBe(2);
  });

  it('reports a failed statement with its PostgreSQL code and leaves the session usable', async () => {
    const prepared = preparedPGlite(db, module);
    const error = await prepared.query('INSERT INTO t (id) VALUES ($1)', [7]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '23505', constraint: 't_pkey' });
    expect((await prepared.query('SELECT count(*)::int AS n FROM t WHERE id >= $1', [0])).rows).toEqual([{ n: 1 }]);
    // Not left inside a failed transaction either.
    expect((await db.query<{ s: string }>("SELECT current_setting('transaction_isolation') AS s")).rows).toHaveLength(1);
  });

  it('prepares a statement again after DEALLOCATE ALL, and after its table changed shape', async () => {
    const prepared = preparedPGlite(db, module);
    const select = 'SELECT * FROM t WHERE id = $1';
    await prepared.query(select, [7]);
    await db.exec('DEALLOCATE ALL');
    expect((await prepared.query<{ id: number }>(select, [7])).rows.map((r) => r.id)).toEqual([7]);

    await db.exec('ALTER TABLE t ADD COLUMN extra integer DEFAULT 42');
    expect((await prepared.query<{ extra: number }>(select, [7])).rows[0]!.extra).toBe(42);
  });

  it('shares statements between two wrappers of one instance', async () => {
    const first = preparedPGlite(db, module);
    const second = preparedPGlite(db, module);
    const sql = 'SELECT $1::int + 1 AS n';
    expect((await first.query(sql, [1])).rows).toEqual([{ n: 2 }]);
    expect((await second.query(sql, [2])).rows).toEqual([{ n: 3 }]);
  });

  it('never runs inside a transaction another caller holds open', async () => {
    const prepared = preparedPGlite(db, module);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const transaction = db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES (100)');
        opened();
        await held;
        throw new Error('rolled back on purpose');
      })
      .catch(() => undefined);
    await isOpen;
    const insert = prepared.query('INSERT INTO t (id) VALUES ($1)', [101]);
    release();
    await Promise.all([transaction, insert]);
    const ids = (await db.query<{ id: number }>('SELECT id FROM t WHERE id >= 100 ORDER BY id')).rows.map((r) => r.id);
    expect(ids).toEqual([101]);
  });

  it('runs prepared statements inside transactions too: committed or rolled back with them', async () => {
    const prepared = preparedPGlite(db, module);
    const insert = 'INSERT INTO t (id, note) VALUES ($1, $2) RETURNING note';
    const result = await prepared.transaction(async (tx) => {
      const { rows } = await tx.query<{ note: string }>(insert, [200, 'kept']);
      await tx.query(insert, [201, 'kept too']);
      return rows;
    });
    expect(result).toEqual([{ note: 'kept' }]);
    await prepared
      .transaction(async (tx) => {
        await tx.query(insert, [202, 'undone']);
        await tx.query(insert, [200, 'a duplicate']);
      })
      .catch((e: unknown) => expect(e).toMatchObject({ code: '23505' }));
    const ids = (await db.query<{ id: number }>('SELECT id FROM t WHERE id >= 200 ORDER BY id')).rows.map((r) => r.id);
    expect(ids).toEqual([200, 201]);
    expect((await db.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements')).rows.map((r) => r.statement)).toContain(insert);

    // A statement deallocated behind the wrapper's back fails the transaction it was in, once.
    await db.exec('DEALLOCATE ALL');
    const failed = await prepared.transaction((tx) => tx.query(insert, [203, 'lost'])).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: '26000' });
    await prepared.transaction((tx) => tx.query(insert, [204, 'after']));
    expect((await db.query<{ id: number }>('SELECT id FROM t WHERE id > 201 ORDER BY id')).rows.map((r) => r.id)).toEqual([204]);
  });

  it('leaves statements without parameters, and PGlite-like objects without the wire API, to query', async () => {
    const prepared = preparedPGlite(db, module);
    const before = await preparedCount(db);
    expect((await prepared.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    expect(await preparedCount(db)).toBe(before);

    const calls: string[] = [];
    const plain: PGliteLike = {
      query: async (sql) => {
        calls.push(sql);
        return { rows: [] };
      },
      exec: async () => undefined,
      transaction: (fn) => fn({ query: async () => ({ rows: [] }) }),
      close: async () => undefined,
    };
    await preparedPGlite(plain, module).query('SELECT $1', [1]);
    expect(calls).toEqual(['SELECT $1']);
  });
});
