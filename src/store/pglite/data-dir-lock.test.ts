import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPGliteEventStore } from './pglite-event-store.js';

const dir = await mkdtemp(join(tmpdir(), 'factum-lock-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('one embedded store per data directory', () => {
  it('refuses a second open of the same directory with STORE_LOCKED, and allows it after close', async () => {
    const first = await openPGliteEventStore({ dataDir: dir });
    await first.append('s-1', [{ type: 'A', data: {} }]);
    const second = await openPGliteEventStore({ dataDir: dir }).catch((e: unknown) => e);
    expect(second).toMatchObject({ code: 'STORE_LOCKED', details: { pid: process.pid } });
    await first.close();
    const third = await openPGliteEventStore({ dataDir: dir });
    expect((await third.streamInfo('s-1')).version).toBe(1);
    await third.close();
  });

  it('takes over a lock left by a process that died', async () => {
    await writeFile(join(dir, 'factum.lock'), '999999999');
    const store = await openPGliteEventStore({ dataDir: dir });
    expect((await store.streamInfo('s-1')).version).toBe(1);
    await store.close();
  });
});
