// `factum archive` and `factum restore` as a user runs them (the built bin, spawned), on an
// embedded directory and on PostgreSQL: --json output parsed, exit codes, stream reads refused
// over the archived range, a corrupted segment refused with its name, and bad input.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore } from '../../store/open-event-store.js';
import { dropSchemas, uniqueSchema } from '../../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { buildCli, type CliBuild, type Ran } from '../../../test/cli-build.js';

const pgSkip = await postgresUnavailable();
let cli: CliBuild;
let work: string;
const schemas: string[] = [];

beforeAll(async () => {
  [cli, work] = await Promise.all([buildCli(), mkdtemp(join(tmpdir(), 'factum-cli-archive-'))]);
}, 200_000);
afterAll(async () => {
  await cli?.remove();
  await rm(work, { recursive: true, force: true });
  await dropSchemas(schemas);
});

const locations = [
  { name: 'an embedded directory', skip: undefined, db: (n: string) => ({ db: join(work, `store-${n}`), schema: undefined as string | undefined }) },
  { name: 'PostgreSQL', skip: pgSkip, db: () => ({ db: POSTGRES_URL, schema: uniqueSchema() as string | undefined }) },
];

for (const location of locations) {
  describe.skipIf(location.skip !== undefined)(`factum archive and restore on ${location.name}${location.skip ? ` (skipped: ${location.skip})` : ''}`, () => {
    const run = (where: { db: string; schema: string | undefined }, ...args: string[]): Promise<Ran> => cli.factum(['--db', where.db, ...(where.schema ? ['--schema', where.schema] : []), ...args]);
    const json = async <T>(where: { db: string; schema: string | undefined }, ...args: string[]): Promise<T> => {
      const ran = await run(where, ...args, '--json');
      expect({ code: ran.code, stderr: ran.stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(ran.stdout) as T;
    };

    it('archives, refuses reads over the archive, verifies, restores in place and as a full copy', { timeout: 240_000 }, async () => {
      const source = location.db('a');
      if (source.schema) schemas.push(source.schema);
      const store = await openEventStore(source.db, source.schema ? { schema: source.schema } : {});
      for (let v = 1; v <= 8; v++) for (let s = 0; s < 5; s++) await store.append(`order-${s}`, [{ type: 'Stepped', data: { s, v } }]);
      await store.append('cart-1', [{ type: 'Added', data: {} }]);
      await store.close();
      const archive = join(work, `archive-${location.name.length}`);

      const archived = await json<{ status: string; events: number; removed: number; segments: number; streams: number }>(source, 'archive', archive, '--category', 'order', '--max-count', '3', '--segment-size', '10');
      expect(archived).toMatchObject({ status: 'complete', events: 25, removed: 25, segments: 3, streams: 5 });
      const human = await run(source, 'archive', archive);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('Finished the archive 25 events of 5 streams in 3 segments');

      const refused = await run(source, 'read', 'order-2');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('[EVENTS_ARCHIVED]');
      expect(refused.stderr).toContain('read from version 6');
      const rest = await json<Array<{ streamVersion: number }>>(source, 'read', 'order-2', '--from', '6');
      expect(rest.map((e) => e.streamVersion)).toEqual([6, 7, 8]);

      const verified = await cli.factum(['archive', archive, '--verify', '--json']);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ status: 'complete', segments: 3, events: 25 });

      const copy = { db: join(work, `copy-${location.name.length}`), schema: source.schema ? uniqueSchema() : undefined };
      if (copy.schema) schemas.push(copy.schema);
      const copied = await json<{ events: number; written: number; liveEvents: number }>(copy, 'restore', archive, '--copy', '--from', source.db, ...(source.schema ? ['--from-schema', source.schema] : []));
      expect(copied).toEqual(expect.objectContaining({ events: 25, written: 25, liveEvents: 16 }));
      const all = await json<Array<{ globalPosition: string }>>(copy, 'all');
      expect(all.map((e) => Number(e.globalPosition))).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));

      const restored = await json<{ events: number; written: number }>(source, 'restore', archive);
      expect(restored).toMatchObject({ events: 25, written: 25 });
      expect((await json<unknown[]>(source, 'read', 'order-2')).length).toBe(8);
    });

    it('refuses a corrupted segment, naming it, and bad input, with exit codes', { timeout: 120_000 }, async () => {
      const source = location.db('b');
      if (source.schema) schemas.push(source.schema);
      const store = await openEventStore(source.db, source.schema ? { schema: source.schema } : {});
      for (let v = 1; v <= 4; v++) await store.append('order-1', [{ type: 'Stepped', data: { v } }]);
      await store.close();
      const archive = join(work, `bad-${location.name.length}`);
      expect((await run(source, 'archive', archive, '--category', 'order')).stderr).toContain('--max-age <seconds>, --max-count <count> or --before-version');
      expect((await run(source, 'archive', archive, '--max-count', 'x')).code).toBe(2);
      expect((await run(source, 'archive', archive, '--before-version', '3', '--json')).code).toBe(0);

      const manifest = JSON.parse(await readFile(join(archive, 'manifest.json'), 'utf8')) as { segments: Array<{ file: string }> };
      const file = manifest.segments[0]!.file;
      await writeFile(join(archive, file), 'not what was written');
      const refused = await run(source, 'restore', archive, '--json');
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'ARCHIVE_CORRUPTED', details: { segment: file } } });
      const verify = await cli.factum(['archive', archive, '--verify']);
      expect(verify.code).toBe(1);
      expect(verify.stderr).toContain(file);
      expect((await cli.factum(['archive', join(work, 'nothing-here'), '--verify'])).stderr).toContain('[NOT_FOUND]');
    });
  });
}
