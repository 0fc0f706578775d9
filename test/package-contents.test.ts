// What `npm pack` ships must be enough to follow a stack trace or a "go to definition": the
// source maps and declaration maps in dist/ point at src/*.ts, so those files ship too (tests do not).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);
let packed: Set<string>;

beforeAll(async () => {
  await run('npm', ['run', 'build'], { timeout: 120_000 });
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { timeout: 60_000 });
  packed = new Set((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
}, 180_000);

it('ships every source file that a map in dist/ points at, and no test', async () => {
  const maps = [...packed].filter((path) => path.endsWith('.map'));
  expect(maps.some((path) => path.endsWith('.js.map'))).toBe(true);
  expect(maps.some((path) => path.endsWith('.d.ts.map'))).toBe(true);
  const missing: string[] = [];
  for (const map of maps) {
    const { sources } = JSON.parse(await readFile(map, 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const path = normalize(join(dirname(map), source));
      if (!packed.has(path)) missing.push(`${map} -> ${path}`);
    }
  }
  expect(missing).toEqual([]);
  expect([...packed].filter((path) => /\.test\.ts$/.test(path))).toEqual([]);
});

it('ships the `factum` bin as an executable script of the build', async () => {
  const { bin } = JSON.parse(await readFile('package.json', 'utf8')) as { bin: Record<string, string> };
  const path = normalize(bin.factum!);
  expect(packed.has(path), path).toBe(true);
  expect((await readFile(path, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
});

it('a stack trace from the built package, with source maps on, names shipped .ts files and lines that hold the throwing code', async () => {
  const script = `
    import { openEventStore } from './dist/index.js';
    const store = await openEventStore('memory:');
    try { await store.append('', [{ type: 'X', data: {} }]); } catch (error) { console.log(error.code); console.log(error.stack); }`;
  const { stdout } = await run(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], { timeout: 30_000 });
  const [code, ...stack] = stdout.trim().split('\n');
  expect(code).toBe('INVALID_STREAM_ID');
  // Frames of dependencies (the OpenTelemetry API's context manager wraps an append) are theirs to ship.
  const frames = stack.filter((line) => !line.includes('/node_modules/')).flatMap((line) => [...line.matchAll(/\/((?:src)\/[\w/.-]+\.ts):(\d+):\d+/g)].map((m) => ({ file: m[1]!, line: Number(m[2]) })));
  expect(frames.length).toBeGreaterThan(0);
  for (const frame of frames) expect(packed.has(frame.file), frame.file).toBe(true);
  // The top frame is where the error is made: that line of the shipped source says so.
  const top = frames[0]!;
  const sourceLine = (await readFile(top.file, 'utf8')).split('\n')[top.line - 1]!;
  expect(sourceLine).toMatch(/FactumError|Error\(/);
});
