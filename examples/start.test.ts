// `npm start` on a fresh embedded store, then again on the same store: it continues.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'factum-start-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const start = async () =>
  (await run(process.execPath, ['--import', 'tsx', 'examples/start.ts'], { env: { ...process.env, FACTUM_DATA_DIR: dir }, timeout: 60_000 })).stdout;

it('runs on a new embedded store, then continues from the stored state', async () => {
  const first = await start();
  expect(first).toContain('event store opened (pglite');
  expect(first).toContain('A new store: opening the accounts.');
  expect(first).toContain('A stale writer was stopped');
  expect(first).toMatch(/account-ada\s+Ada Lovelace\s+balance\s+40\.41 EUR/);
  const head = /Head of the log: position (\d+)/.exec(first)?.[1];
  expect(Number(head)).toBe(13);

  const second = await start();
  expect(second).toContain(`The log already holds events up to position ${head}: continuing.`);
  expect(Number(/Head of the log: position (\d+)/.exec(second)?.[1])).toBe(23);
});
