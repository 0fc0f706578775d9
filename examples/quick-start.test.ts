// The README's quick start, copied verbatim from the README and run.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const copy = 'examples/.quick-start.readme.ts';
afterAll(() => rm(copy, { force: true }));

it('the README quick start is the example file and prints what it says', async () => {
  const readme = await readFile('README.md', 'utf8');
  const block = /<!-- quick-start -->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  expect(block).toBe(await readFile('examples/quick-start.ts', 'utf8'));
  // In this repository 'factum' is the source itself.
  await writeFile(copy, block!.replace("from 'factum'", "from '../src/index.js'"));
  const { stdout } = await run(process.execPath, ['--import', 'tsx', copy], { timeout: 60_000 });
  expect(stdout).toBe(['cart-42 holds 3 items', 'conflict: expected version 1, found 2', '#1 ItemAdded', '#2 ItemAdded', ''].join('\n'));
});
