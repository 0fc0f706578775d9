// The seeded run is a function of the seed: one seed on a new PGlite store and on a new
// PostgreSQL schema gives the same orders, outcomes, events and read models. Only timing may
// differ (global positions, the order of two services' reactions to one event, lag, durations),
// and the printout is compared without those.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../test/stores.js';
import { runShop, type ShopRunConfig } from './run-shop.js';
import { openShopStore } from './store/open-shop-store.js';

const skip = await postgresUnavailable();
const schema = uniqueSchema();
const dir = await mkdtemp(join(tmpdir(), 'factum-shop-seeded-'));
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (!skip) await dropSchemas([schema]);
});

/** What a run did, without what depends on timing. */
async function seededRun(config: Omit<ShopRunConfig, 'print' | 'orders' | 'seed'>) {
  const lines: string[] = [];
  const result = await runShop({ ...config, orders: 60, seed: 3, print: (line = '') => lines.push(line) });
  const printed = lines
    .filter((line) => !/^factum shop: |^ {2}placed in |^ {2}settled in |^Done in /.test(line))
    // The subscriptions table is all lag and positions; its names are checked elsewhere.
    .filter((line) => !/^ {2}\S+\s+running\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+\d+$/.test(line))
    .map((line) => line.replace(/@\d+$/, '@…').replace(/(inventory-\w+) v\d+/, '$1 v…'));
  // Two services reacting to one event append in either order, so siblings in a tree, and the
  // version a warehouse gives an event, follow timing: the histories are compared as sets of lines.
  const from = printed.indexOf('Histories (each event under the event or command that caused it)');
  const to = printed.indexOf('', from);
  printed.splice(from, to - from, ...printed.slice(from, to).sort());
  const { store, close } = await openShopStore(config);
  const types = new Map<string, number>();
  try {
    for await (const event of store.readAll()) types.set(event.type, (types.get(event.type) ?? 0) + 1);
  } finally {
    await close();
  }
  return { outcomes: result.outcomes, workload: result.workload, events: Object.fromEntries([...types].sort()), printed };
}

describe.skipIf(Boolean(skip))(`the seeded shop run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('gives the same orders, outcomes, events and printout on PGlite and on PostgreSQL', { timeout: 180_000 }, async () => {
    const embedded = await seededRun({ dataDir: dir });
    const postgres = await seededRun({ databaseUrl: POSTGRES_URL, schema, dataDir: 'unused' });
    expect(embedded.workload.orderIds).toHaveLength(60);
    expect(embedded.events.OrderPlaced).toBe(60);
    expect(postgres.outcomes).toEqual(embedded.outcomes);
    expect(postgres.workload).toEqual(embedded.workload);
    expect(postgres.events).toEqual(embedded.events);
    expect(postgres.printed).toEqual(embedded.printed);
  });
});
