/**
 * What a first open of a new embedded directory costs, against a reopen: `npx tsx bench/first-open.ts
 * [runs] [--dist]`. With `--dist` the opens run the built package (`npm run build` first), as users
 * do: from sources, the child that makes a template loads tsx too. Each open runs in its own Node process (so peak memory is that open's alone) and reports
 * the time `openPGliteEventStore` took (PGlite start, database creation, migrations), the process's
 * peak RSS and its RSS once open (what it keeps while it runs). Cases:
 *
 * - `in place`: a new directory, PGlite creating the database itself (`templateDir: false`, the old way);
 * - `new template`: a new directory and no template yet (made in a child process, then copied);
 * - `from template`: a new directory, the template already made;
 * - `reopen`: an existing directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { openPGliteEventStore as OpenStore } from '../src/store/pglite/pglite-event-store.js';

interface Sample {
  seconds: number;
  peakMiB: number;
  openMiB: number;
}

if (process.argv[2] === '--child') {
  const [dataDir, templateDir, from] = process.argv.slice(3) as [string, string, string];
  const { openPGliteEventStore } = (await import(`../${from}/store/pglite/pglite-event-store.js`)) as { openPGliteEventStore: typeof OpenStore };
  const started = performance.now();
  const store = await openPGliteEventStore({ dataDir, templateDir: templateDir === 'none' ? false : templateDir });
  const seconds = (performance.now() - started) / 1000;
  const openMiB = process.memoryUsage().rss / 2 ** 20;
  await store.close();
  console.log(JSON.stringify({ seconds, peakMiB: process.resourceUsage().maxRSS / 1024, openMiB }));
  process.exit(0);
}

const runs = Number(process.argv[2] ?? 3);
const from = process.argv.includes('--dist') ? 'dist' : 'src';
const self = fileURLToPath(import.meta.url);
const root = await mkdtemp(path.join(os.tmpdir(), 'factum-first-open-'));

function open(dataDir: string, templateDir: string): Sample {
  const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', dataDir, templateDir, from], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Sample;
}

const cases: Record<string, Sample[]> = { 'in place': [], 'new template': [], 'from template': [], reopen: [] };
try {
  for (let run = 0; run < runs; run++) {
    const templateDir = path.join(root, `templates-${run}`);
    cases['in place']!.push(open(path.join(root, `in-place-${run}`), 'none'));
    cases['new template']!.push(open(path.join(root, `new-template-${run}`), templateDir));
    cases['from template']!.push(open(path.join(root, `from-template-${run}`), templateDir));
    cases.reopen!.push(open(path.join(root, `from-template-${run}`), templateDir));
  }
} finally {
  await rm(root, { recursive: true, force: true });
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`first open of an embedded directory (${from}), median of ${runs} runs (min-max), one process per open`);
console.log('case           open (s)          peak RSS (MiB)    RSS once open (MiB)');
for (const [name, samples] of Object.entries(cases)) {
  const column = (pick: (s: Sample) => number, digits: number): string => {
    const values = samples.map(pick);
    return `${median([...values]).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`.padEnd(18);
  };
  console.log(`${name.padEnd(15)}${column((s) => s.seconds, 2)}${column((s) => s.peakMiB, 0)}${column((s) => s.openMiB, 0)}`);
}
