// `npm start` end to end on the embedded store (PGlite), twice on the same files: the second run
// continues from the first. Then every service is made to handle the whole log again. The
// PostgreSQL twin is shop.int.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readModel, sqlAccess } from '../../src/index.js';
import { checkInvariants } from './invariants.js';
import { orderSummary } from './orders/order-summary.js';
import { compareWithRebuild } from './read-models/rebuild-check.js';
import { runAndCheck } from './shop-e2e.js';
import { SERVICES, Shop } from './shop.js';
import { openShopStore } from './store/open-shop-store.js';

const dir = await mkdtemp(join(tmpdir(), 'factum-shop-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('runs the shop on a new PGlite store, then continues from the stored state', { timeout: 180_000 }, async () => {
  const first = await runAndCheck({ dataDir: dir, orders: 160, seed: 7 }, { run: 1, totalOrders: 160 });
  expect(first.output).toContain('A new store.');

  const second = await runAndCheck({ dataDir: dir, orders: 60, seed: 7 }, { run: 2, totalOrders: 220 });
  expect(second.output).toContain(`The log already holds ${first.result.headPosition} positions: continuing`);
  expect(second.result.headPosition).toBeGreaterThan(first.result.headPosition);
  // The warehouse streams are long by now: loads start from a snapshot and fold fewer than 100 events.
  expect(second.output).toMatch(/inventory-east\s+\d{3} events: a load reads the snapshot at v\d+00, then folds \d{1,2} events/);
  expect(second.output).toMatch(/inventory-west\s+\d{3} events: a load reads the snapshot at v\d+00, then folds \d{1,2} events/);
});

it('appends nothing when every service handles the whole log again: the inbox, then the deciders, make each step idempotent', { timeout: 180_000 }, async () => {
  const { store, close } = await openShopStore({ dataDir: dir });
  try {
    const sql = sqlAccess(store)!;
    const names = SERVICES.map((s) => s.name);
    const head = await store.headPosition();
    const inboxRows = async () => Number((await sql.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql.names.s}inbox WHERE consumer = ANY($1)`, [names])).rows[0]!.n);
    expect(await inboxRows()).toBeGreaterThan(1000);

    const replay = async (clearInbox: boolean) => {
      // As after a crash that lost every checkpoint: each service starts over from the first event.
      await sql.client.query(`UPDATE ${sql.names.s}checkpoints SET position = 0 WHERE name = ANY($1)`, [names]);
      if (clearInbox) await sql.client.query(`DELETE FROM ${sql.names.s}inbox WHERE consumer = ANY($1)`, [names]);
      const shop = await Shop.start(store);
      try {
        expect(await shop.settle()).toBe(head);
        expect(shop.statuses().every((s) => s.position === head && s.state === 'running')).toBe(true);
      } finally {
        await shop.stop();
      }
      expect(await store.headPosition()).toBe(head);
    };
    await replay(false); // redeliveries recognised by the inbox
    await replay(true); // with no inbox at all, the deciders decide nothing for steps already taken
    expect(await inboxRows()).toBeGreaterThan(1000);
    for (const invariant of await checkInvariants(store)) expect(invariant, invariant.name).toMatchObject({ ok: true });
  } finally {
    await close();
  }
});

it('the rebuild check finds a read-model row that the log does not give, and the rebuild repairs it', { timeout: 180_000 }, async () => {
  const { store, close } = await openShopStore({ dataDir: dir });
  try {
    const summary = readModel(store, orderSummary);
    const { rows } = await summary.query<{ order_id: string }>(`UPDATE ${summary.table('order_summary')} SET status = 'lost' WHERE order_id = (SELECT min(order_id) FROM ${summary.table('order_summary')}) RETURNING order_id`);
    expect(rows).toHaveLength(1);
    const check = [{ projection: orderSummary, inline: false }];
    expect(await compareWithRebuild(store, check)).toEqual([{ projection: 'order-summary', table: 'order_summary', onlyLive: 1, onlyRebuilt: 1 }]);
    expect(await compareWithRebuild(store, check)).toEqual([{ projection: 'order-summary', table: 'order_summary', onlyLive: 0, onlyRebuilt: 0 }]);
    expect((await summary.query(`SELECT 1 FROM ${summary.table('order_summary')} WHERE status = 'lost'`)).rows).toEqual([]);
  } finally {
    await close();
  }
});
