/**
 * The statement counter of bench/sagas.ts on a real PGlite store: what it counts is what the
 * benchmark reports as the statements a saga step costs, so its rule is pinned here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBenchStore, type BenchStore } from '../bench/bench-stores.js';
import { StatementCounter, statementKind } from '../bench/statement-counter.js';

describe('statementKind', () => {
  it("names factum's statements by what they do, with the schema taken out", () => {
    expect(statementKind('UPDATE "s1".checkpoints SET position = $2 WHERE name = $1')).toBe('checkpoint');
    expect(statementKind('SELECT e.event_id AS id FROM "s1".events e WHERE e.stream_id = $1')).toBe('stream read');
    expect(statementKind('SELECT "s1".append_events($1, $2) AS r')).toBe('append (append_events)');
  });

  it('falls back to the verb and the first relation', () => {
    expect(statementKind('SELECT count(*) FROM "s1".read_models WHERE id = $1')).toBe('SELECT read_models');
    expect(statementKind('  begin')).toBe('BEGIN');
  });
});

describe('StatementCounter on PGlite', () => {
  const counter = new StatementCounter();
  let bench: BenchStore;
  beforeAll(async () => {
    bench = await openBenchStore('pglite', { prefix: 'unused', wrap: (client) => counter.wrap(client) });
  });
  afterAll(() => bench.close());

  it('counts nothing while off, and what the store sends while on', async () => {
    await bench.store.append('off-1', [{ type: 'Noted', data: {} }]);
    expect(counter.total).toBe(0);
    counter.counting = true;
    await bench.store.append('on-1', [{ type: 'Noted', data: {} }]);
    for await (const _ of bench.store.readStream('on-1'));
    counter.counting = false;
    const kinds = counter.snapshot().byKind.map((k) => k.kind);
    expect(kinds).toContain('stream read');
    expect(counter.total).toBeGreaterThanOrEqual(2);
  });

  it('counts a transaction as BEGIN, its statements and COMMIT, and a failed one with ROLLBACK', async () => {
    counter.reset();
    counter.counting = true;
    await bench.store.transaction(async (tx) => {
      await tx.sql.query('SELECT 1');
    });
    await expect(
      bench.store.transaction(async (tx) => {
        await tx.sql.query('SELECT 1');
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    counter.counting = false;
    expect(counter.snapshot().byKind.map((k) => [k.kind, k.count])).toEqual(
      expect.arrayContaining([
        ['BEGIN', 2],
        ['SELECT', 2],
        ['COMMIT', 1],
        ['ROLLBACK', 1],
      ]),
    );
    expect(counter.total).toBe(6);
  });
});
