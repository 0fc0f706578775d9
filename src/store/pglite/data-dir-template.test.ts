import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seedDataDir } from './data-dir-template.js';
import { openPGliteEventStore } from './pglite-event-store.js';

const root = await mkdtemp(join(tmpdir(), 'factum-template-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const templateDir = join(root, 'templates');

async function events(store: Awaited<ReturnType<typeof openPGliteEventStore>>): Promise<string[]> {
  const types: string[] = [];
  for await (const event of store.readAll()) types.push(event.type);
  return types;
}

describe('new embedded directories are copies of a template', () => {
  it('two first opens at once with no template yet: one complete template, two separate databases', async () => {
    const [a, b] = await Promise.all([
      openPGliteEventStore({ dataDir: join(root, 'a'), templateDir }),
      openPGliteEventStore({ dataDir: join(root, 'b'), templateDir }),
    ]);
    await a.append('s-a', [{ type: 'InA', data: {} }]);
    await b.append('s-b', [{ type: 'InB', data: {} }]);
    expect(await events(a)).toEqual(['InA']);
    expect(await events(b)).toEqual(['InB']);
    await Promise.all([a.close(), b.close()]);
    const templates = await readdir(templateDir);
    expect(templates).toHaveLength(1);
    expect(templates[0]).toMatch(/^pglite-\d+\.\d+\.\d+/);
    expect(await readdir(join(templateDir, templates[0]!))).toContain('PG_VERSION');
    expect(await readdir(join(templateDir, templates[0]!))).not.toContain('factum.lock');
  });

  it('seeds a new directory from the template and leaves an existing database alone', async () => {
    const dir = join(root, 'c');
    const store = await openPGliteEventStore({ dataDir: dir, templateDir });
    await store.append('s-c', [{ type: 'InC', data: {} }]);
    await store.close();
    expect(await seedDataDir(dir, templateDir)).toBe(false);
    const reopened = await openPGliteEventStore({ dataDir: dir, templateDir });
    expect(await events(reopened)).toEqual(['InC']);
    await reopened.close();
    expect(await seedDataDir(join(root, 'd'), templateDir)).toBe(true);
  });

  it('a copy cut short before its PG_VERSION is copied again on the next open', async () => {
    const [template] = await readdir(templateDir);
    const dir = join(root, 'cut-short');
    await cp(join(templateDir, template!), dir, { recursive: true, filter: (source) => !/PG_VERSION$|pg_wal/.test(source) });
    const store = await openPGliteEventStore({ dataDir: dir, templateDir });
    await store.append('s-e', [{ type: 'InE', data: {} }]);
    expect(await events(store)).toEqual(['InE']);
    await store.close();
  });
});
