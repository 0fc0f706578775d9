// `npm start` end to end on the embedded store (PGlite), twice on the same files: the second run
// continues from the first. The PostgreSQL twin is shop.int.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runAndCheck } from './shop-e2e.js';

const dir = await mkdtemp(join(tmpdir(), 'factum-shop-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('runs the shop on a new PGlite store, then continues from the stored state', { timeout: 180_000 }, async () => {
  const first = await runAndCheck({ dataDir: dir, orders: 160, seed: 7 }, { run: 1, totalOrders: 160 });
  expect(first.output).toContain('A new store.');

  const second = await runAndCheck({ dataDir: dir, orders: 60, seed: 7 }, { run: 2, totalOrders: 220 });
  expect(second.output).toContain(`The log already holds ${first.result.headPosition + 0n} positions: continuing`);
  expect(second.result.headPosition).toBeGreaterThan(first.result.headPosition);
});
