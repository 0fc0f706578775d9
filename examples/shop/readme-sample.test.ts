// The README's sample of `npm start` is what a new store with the default settings prints:
// each run of lines between two `…` appears in the output as it stands in the README, except
// for what follows timing (global positions, versions within a warehouse's stream).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runShop } from './run-shop.js';

const dir = await mkdtemp(join(tmpdir(), 'factum-shop-readme-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const timeless = (line: string): string => line.replace(/@\d+$/, '@…').replace(/(inventory-\w+) v\d+/, '$1 v…');

it("the README's sample output is what npm start prints on a new store", { timeout: 180_000 }, async () => {
  const readme = await readFile('README.md', 'utf8');
  const sample = /part of what it prints[\s\S]*?\n```\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(sample, 'the sample block after "part of what it prints"').toBeDefined();
  const lines: string[] = [];
  // main.ts's defaults: FACTUM_SHOP_ORDERS=250, FACTUM_SHOP_SEED=42.
  await runShop({ dataDir: dir, orders: 250, seed: 42, print: (line = '') => lines.push(line) });
  const printed = lines.map(timeless).join('\n');
  for (const part of sample!.trimEnd().split('\n…\n')) expect(printed).toContain(part.split('\n').map(timeless).join('\n'));
});
