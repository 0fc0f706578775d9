// A missing driver, for real: a copy of the sources in a directory whose node_modules holds
// factum's own dependencies and nothing else (an install without the optional peers), so
// neither `pg` nor PGlite can be imported.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** factum's runtime dependencies and theirs (npm installs them flat, as here). */
async function runtimeDependencies(name = '.', seen = new Set<string>()): Promise<Set<string>> {
  const manifest = JSON.parse(await readFile(name === '.' ? 'package.json' : join('node_modules', name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    if (seen.has(dependency)) continue;
    seen.add(dependency);
    await runtimeDependencies(dependency, seen);
  }
  return seen;
}
let dir: string | undefined;
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

describe('a missing driver', () => {
  it('is DRIVER_MISSING saying what to install, for pg and for PGlite', async () => {
    dir = await mkdtemp(join(tmpdir(), 'factum-no-drivers-'));
    await cp(resolve('src'), join(dir, 'src'), { recursive: true });
    await cp(resolve('test/fixtures/open-without-drivers.ts'), join(dir, 'test/fixtures/open-without-drivers.ts'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    for (const dependency of await runtimeDependencies()) {
      await mkdir(join(dir, 'node_modules', dependency, '..'), { recursive: true });
      await symlink(resolve('node_modules', dependency), join(dir, 'node_modules', dependency));
    }
    // tsx is taken from this checkout; the copied sources resolve their imports from the copy.
    const tsx = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
    const { stdout } = await run(process.execPath, ['--import', tsx, 'test/fixtures/open-without-drivers.ts'], { cwd: dir, timeout: 60_000 });
    const [postgres, embedded] = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(postgres).toMatchObject({ factum: true, code: 'DRIVER_MISSING', causeCode: 'ERR_MODULE_NOT_FOUND' });
    expect(postgres!.message).toContain('npm install pg');
    expect(embedded).toMatchObject({ factum: true, code: 'DRIVER_MISSING', causeCode: 'ERR_MODULE_NOT_FOUND' });
    expect(embedded!.message).toContain('npm install @electric-sql/pglite');
  });
});
