// `FACTUM_DATABASE_URL=postgres://… npm start` end to end, in a fresh schema dropped afterwards.
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../test/stores.js';
import { runAndCheck } from './shop-e2e.js';

const skip = await postgresUnavailable();
const schema = uniqueSchema();
afterAll(() => (skip ? undefined : dropSchemas([schema])));

describe.skipIf(Boolean(skip))(`shop on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('runs the whole shop, and every invariant holds', { timeout: 180_000 }, async () => {
    const { output } = await runAndCheck({ databaseUrl: POSTGRES_URL, schema, dataDir: 'unused', orders: 160, seed: 11 }, { run: 1, totalOrders: 160 });
    expect(output).toContain(`PostgreSQL`);
    expect(output).toContain(`schema ${schema}`);
  });
});
