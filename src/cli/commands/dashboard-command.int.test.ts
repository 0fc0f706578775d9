// `factum dashboard` as an operator runs it: a process on an embedded store that prints its URL
// (with the token) and serves the page and the API behind that token until it is stopped.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openPGliteEventStore } from '../../store/pglite/pglite-event-store.js';

it('prints a 127.0.0.1 URL with a token, serves the API with it and refuses without it, and stops on SIGTERM', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'factum-dashboard-'));
  try {
    const store = await openPGliteEventStore({ dataDir: dir });
    await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 1 } }]);
    await store.close();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'dashboard', '--db', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const found = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}/.exec(output);
          if (found) resolve(found[0]);
        });
        void exited.then((code) => reject(new Error(`factum dashboard exited (${code}): ${output}`)));
      });
      const token = new URL(url).searchParams.get('token')!;
      const base = url.replace(/\?token=.*$/, '');
      expect((await fetch(url)).status).toBe(200);
      expect((await fetch(`${base}api/streams`)).status).toBe(401);
      const streams = (await (await fetch(`${base}api/streams`, { headers: { 'x-factum-token': token } })).json()) as Array<{ streamId: string }>;
      expect(streams.map((s) => s.streamId)).toEqual(['order-1']);
      // The token is printed once, in the URL, and nowhere else.
      expect(output.split(token).length).toBe(2);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
