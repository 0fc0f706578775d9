import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { openEventStore } from './open-event-store.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import { caught } from '../../test/caught.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'factum-open-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('openEventStore locations', () => {
  it('refuses a URL of another scheme and creates no directory for it', async () => {
    const error = await caught(openEventStore('mysql://root@host/x'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/"memory:".*postgres:\/\//);
    expect(existsSync('mysql:')).toBe(false);
  });

  it('refuses the empty string instead of opening ./.factum/db', async () => {
    expect((await caught(openEventStore(''))).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses null and objects that are not a pool with INVALID_ARGUMENT', async () => {
    expect((await caught(openEventStore(null as never))).code).toBe('INVALID_ARGUMENT');
    expect((await caught(openEventStore({} as never))).code).toBe('INVALID_ARGUMENT');
  });

  it('opens the embedded store in the directory of an absolute file: URL', async () => {
    const dir = join(await tempDir(), 'events');
    const store = await openEventStore(pathToFileURL(dir).href);
    await store.append('s-1', [{ type: 'A', data: {} }]);
    await store.close();
    expect(await readdir(dir)).toContain('PG_VERSION');
  });

  it('opens the embedded store in the directory of a relative file: URL', async () => {
    const dir = join(await tempDir(), 'rel');
    const store = await openEventStore(`file:${relative(process.cwd(), dir)}`);
    await store.close();
    expect(await readdir(dir)).toContain('PG_VERSION');
  });

  it('opens the embedded store on a PGlite instance of yours, and leaves the instance open when the store closes', async () => {
    const db = new PGlite();
    const store = await openEventStore(db, { schema: 'mine' });
    expect(storeCapabilities(store).sql).toBe(true);
    await store.append('s-1', [{ type: 'A', data: {} }]);
    await store.close();
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mine.events');
    expect(rows).toEqual([{ n: 1 }]);
    await db.close();
  });
});
