import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { lockDataDir } from './data-dir-lock.js';

const parent = await mkdtemp(join(tmpdir(), 'factum-lock-'));
afterAll(() => rm(parent, { recursive: true, force: true }));

it('lets one process at a time use a data directory, and takes over a lock left by a dead one', async () => {
  const dir = join(parent, 'shop');
  const release = lockDataDir(dir);
  expect(() => lockDataDir(dir)).toThrow(`in use by process ${process.pid}`);
  release();
  lockDataDir(dir)();

  // No process has this pid (above the kernel's limit), as after a crash.
  await writeFile(`${dir}.lock`, '99999999');
  const again = lockDataDir(dir);
  expect(() => lockDataDir(dir)).toThrow('in use');
  again();
});
