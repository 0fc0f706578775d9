/**
 * End to end, with real stores: processes that open one embedded directory at the same instant
 * and append; on reopen every acknowledged event is there, once, with distinct positions.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPGliteEventStore } from './pglite-event-store.js';

const script = fileURLToPath(new URL('../../../test/fixtures/store-racer.ts', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'factum-store-race-'));
afterAll(() => rm(root, { recursive: true, force: true }));

// An existing store, as a crash leaves it: the racers of a restart meet a database already there.
const existing = join(root, 'existing');
beforeAll(async () => {
  const store = await openPGliteEventStore({ dataDir: existing });
  await store.close();
});

interface Run {
  lines: string[];
  start(at: number): void;
  exit: Promise<void>;
  kill(): void;
}

function run(dir: string, count: number, mode = ''): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(count), mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { lines, exit, start: (at) => child.stdin.end(`${at}\n`), kill: () => child.kill('SIGKILL') };
}

const acked = (runs: Run[]): string[] => runs.flatMap((r) => r.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4)));

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function reopened(dir: string): Promise<{ ids: string[]; positions: bigint[] }> {
  const store = await openPGliteEventStore({ dataDir: dir });
  const ids: string[] = [];
  const positions: bigint[] = [];
  for await (const event of store.readAll()) {
    ids.push(event.id);
    positions.push(event.globalPosition);
  }
  await store.close();
  return { ids, positions };
}

describe('processes racing to open one embedded store and append', () => {
  const starts: Record<string, { existing: boolean; lockFile?: string; rounds: number }> = {
    'a new directory': { existing: false, rounds: 1 },
    'an existing store, no lock file': { existing: true, rounds: 2 },
    'an existing store with a stale lock file (dead PID)': { existing: true, lockFile: '999999999', rounds: 3 },
  };
  for (const [start, { existing: fromExisting, lockFile, rounds }] of Object.entries(starts)) {
    it(`loses no acknowledged event, starting from ${start}`, async () => {
      for (let round = 0; round < rounds; round++) {
        const dir = await mkdtemp(join(root, 'race-'));
        if (fromExisting) await cp(existing, dir, { recursive: true });
        if (lockFile !== undefined) await writeFile(join(dir, 'factum.lock'), lockFile);
        const runs = [run(dir, 50), run(dir, 50)];
        await until(() => runs.every((r) => r.lines.includes('ready')));
        const at = Date.now() + 50;
        for (const r of runs) r.start(at);
        await Promise.all(runs.map((r) => r.exit));
        const outcomes = runs.map((r) => r.lines.find((l) => l === 'done' || l.startsWith('locked')));
        const { ids, positions } = await reopened(dir);
        const acknowledged = acked(runs);
        expect(ids.filter((id) => acknowledged.includes(id)).length).toBe(acknowledged.length);
        expect(new Set(positions).size).toBe(ids.length);
        expect(outcomes.sort()).toEqual(['done', 'locked STORE_LOCKED']);
        expect(acknowledged).toHaveLength(50);
        expect(ids).toHaveLength(50);
      }
    });
  }

  it('a store holder killed with SIGKILL: the next open succeeds and keeps what it acknowledged', async () => {
    const dir = await mkdtemp(join(root, 'killed-'));
    const holder = run(dir, 20, 'hold');
    await until(() => holder.lines.includes('ready'));
    holder.start(0);
    await until(() => holder.lines.includes('holding') || holder.lines.some((l) => l.startsWith('locked')));
    expect(holder.lines).toContain('holding');
    holder.kill();
    await holder.exit;
    const { ids } = await reopened(dir);
    expect(ids).toEqual(acked([holder]));
    expect(ids).toHaveLength(20);
  });
});
