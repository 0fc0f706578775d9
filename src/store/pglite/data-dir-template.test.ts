import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../sql/migrations/migrations.js';
import { seedDataDir } from './data-dir-template.js';
import { openPGliteEventStore } from './pglite-event-store.js';

const root = await mkdtemp(join(tmpdir(), 'factum-template-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const templateDir = join(root, 'templates');
/** The template of the default schema, made by the first test. */
let factumTemplate = '';

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
    factumTemplate = join(templateDir, templates[0]!);
    expect(templates[0]).toMatch(/^pglite-\d+\.\d+\.\d+-[0-9a-f]{16}$/);
    expect(await readdir(join(templateDir, templates[0]!))).toContain('PG_VERSION');
    expect(await readdir(join(templateDir, templates[0]!))).not.toContain('factum.lock');
  });

  it('seeds a new directory from the template and leaves an existing database alone', async () => {
    const dir = join(root, 'c');
    const store = await openPGliteEventStore({ dataDir: dir, templateDir });
    await store.append('s-c', [{ type: 'InC', data: {} }]);
    await store.close();
    const spec = { root: templateDir, schema: 'factum', migrate: true };
    expect(await seedDataDir(dir, spec)).toBe(false);
    const reopened = await openPGliteEventStore({ dataDir: dir, templateDir });
    expect(await events(reopened)).toEqual(['InC']);
    await reopened.close();
    expect(await seedDataDir(join(root, 'd'), spec)).toBe(true);
  });

  it('a template is migrated for its schema only: another schema, or migrate: false, gets its own', async () => {
    const [other, bare] = await Promise.all([
      openPGliteEventStore({ dataDir: join(root, 'other-schema'), templateDir, schema: 'elsewhere' }),
      openPGliteEventStore({ dataDir: join(root, 'bare'), templateDir, migrate: false }),
    ]);
    await other.append('s-o', [{ type: 'InOther', data: {} }]);
    expect(await events(other)).toEqual(['InOther']);
    await expect(bare.append('s-x', [{ type: 'X', data: {} }])).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    expect(await bare.migrate()).toEqual(MIGRATIONS.map((m) => m.version));
    await Promise.all([other.close(), bare.close()]);
    expect(await readdir(templateDir)).toHaveLength(3);
  });

  it('a copy cut short before its PG_VERSION is copied again on the next open', async () => {
    const dir = join(root, 'cut-short');
    await cp(factumTemplate, dir, { recursive: true, filter: (source) => !/PG_VERSION$|pg_wal/.test(source) });
    const store = await openPGliteEventStore({ dataDir: dir, templateDir });
    await store.append('s-e', [{ type: 'InE', data: {} }]);
    expect(await events(store)).toEqual(['InE']);
    await store.close();
  });
});
