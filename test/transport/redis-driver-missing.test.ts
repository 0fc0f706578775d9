// ioredis is an optional peer: without it, a copy of the sources that finds no node_modules gets DRIVER_MISSING.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
let dir: string | undefined;
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

it('opening the Redis broker without ioredis is DRIVER_MISSING saying what to install', async () => {
  dir = await mkdtemp(join(tmpdir(), 'factum-no-ioredis-'));
  await cp(resolve('src'), join(dir, 'src'), { recursive: true });
  const fixture = 'test/transport/workers/open-redis-without-ioredis.ts';
  await cp(resolve(fixture), join(dir, fixture));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const tsx = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
  const { stdout } = await run(process.execPath, ['--import', tsx, fixture], { cwd: dir, timeout: 60_000 });
  const result = JSON.parse(stdout.trim()) as Record<string, string>;
  expect(result).toMatchObject({ code: 'DRIVER_MISSING', causeCode: 'ERR_MODULE_NOT_FOUND' });
  expect(result.message).toContain('npm install ioredis');
});
