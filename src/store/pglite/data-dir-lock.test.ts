import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from './data-dir-lock.js';
import { openPGliteEventStore } from './pglite-event-store.js';

const root = await mkdtemp(join(tmpdir(), 'factum-lock-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('one embedded store per data directory', () => {
  it('refuses a second store object of this process with STORE_LOCKED, and allows a reopen after close', async () => {
    const dir = join(root, 'store');
    const first = await openPGliteEventStore({ dataDir: dir });
    await first.append('s-1', [{ type: 'A', data: {} }]);
    const second = await openPGliteEventStore({ dataDir: dir }).catch((e: unknown) => e);
    expect(second).toMatchObject({ code: 'STORE_LOCKED', details: { holder: 'this-process' } });
    expect((second as Error).message).toContain('another store object of this process');
    await first.close();
    const third = await openPGliteEventStore({ dataDir: dir });
    expect((await third.streamInfo('s-1')).version).toBe(1);
    await third.close();
  });

  it('is not blocked by a factum.lock of the PID-file lock that names a live process, this one included', async () => {
    for (const pid of [process.pid, 1, 999999999]) {
      const dir = await mkdtemp(join(root, 'old-'));
      await writeFile(join(dir, 'factum.lock'), String(pid));
      const release = await lockDataDir(dir);
      expect(await readFile(join(dir, 'factum.lock'), 'utf8')).toBe(String(process.pid));
      await release();
    }
  });

  it('refuses a second lock until the first is released; release is idempotent', async () => {
    const dir = await mkdtemp(join(root, 'release-'));
    const release = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await release();
    await release(); // idempotent
    const again = await lockDataDir(dir);
    await again();
  });
});
