// Migrations started by two processes at the same moment on a real PostgreSQL server.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresUnavailable } from '../../../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../../../test/stores.js';
import { MIGRATIONS } from './migrations.js';

const run = promisify(execFile);
const skip = await postgresUnavailable();
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

describe.skipIf(Boolean(skip))(`migrations${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('two processes migrating one schema at once apply each migration exactly once', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const start = () => run(process.execPath, ['--import', 'tsx', 'test/fixtures/open-store.ts', schema], { timeout: 60_000 });
    const [a, b] = await Promise.all([start(), start()]);
    const applied = [JSON.parse(a.stdout) as number[], JSON.parse(b.stdout) as number[]];
    const all = MIGRATIONS.map((m) => m.version).sort((x, y) => x - y);
    // One process applied everything, the other found nothing left to do.
    expect(applied.map((list) => list.length).sort()).toEqual([0, all.length]);
    expect([...applied[0]!, ...applied[1]!].sort((x, y) => x - y)).toEqual(all);

    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const rows = (await client.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)).rows;
    await client.end();
    expect(rows.map((r) => r.version)).toEqual(all);
    // A third run is a no-op.
    const again = await start();
    expect(JSON.parse(again.stdout)).toEqual([]);
  });
});
