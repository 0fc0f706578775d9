// Stream reads run as prepared statements, whose generic plan knows no versions: it must still
// read only the versions asked for, whatever the stream's settings.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../../test/stores.js';
import { openPostgresEventStore } from '../postgres/postgres-event-store.js';
import { streamReadSql } from './stream-read-sql.js';

const skip = await postgresUnavailable();
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  'Index Cond'?: string;
  'Actual Rows': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** The plan node that reads the events of the page (alias `e`). */
function pageScan(node: PlanNode): PlanNode | undefined {
  if (node.Alias === 'e') return node;
  for (const child of node.Plans ?? []) {
    const found = pageScan(child);
    if (found) return found;
  }
  return undefined;
}

describe.skipIf(Boolean(skip))(`stream read plan${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('reads the tail of a 5,000-event stream by an index range in the generic plan, forward and backward, with stream settings', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema });
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      for (let batch = 0; batch < 5; batch++) {
        await store.append('long-1', Array.from({ length: 1000 }, (_, i) => ({ type: 'Filled', data: { n: batch * 1000 + i } })));
      }
      await store.setStreamMetadata('long-1', { maxCount: 4000, maxAgeSeconds: 3600 });
      await client.query(`ANALYZE "${schema}".events`);
      // What a prepared statement settles on after a few calls, whatever it costs.
      await client.query('SET plan_cache_mode = force_generic_plan');
      for (const direction of ['forward', 'backward'] as const) {
        const name = `read_${direction}`;
        await client.query(`PREPARE ${name}(text, bigint, bigint, timestamptz, bigint) AS ${streamReadSql(store.names, direction)}`);
        const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}('long-1', 4901, 5000, NULL, 1000)`);
        const scan = pageScan((rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan);
        expect(scan, direction).toBeDefined();
        expect(scan!['Node Type'], direction).toBe('Index Scan');
        expect(scan!['Index Cond'], direction).toMatch(/stream_version >= \$2\).*stream_version <= \$3\)/);
        expect(scan!['Actual Rows'], direction).toBe(100);
        expect(scan!['Rows Removed by Filter'] ?? 0, direction).toBe(0);
      }
      // And the store returns those events.
      const tail = await store.loadStream('long-1', { fromVersion: 4901 });
      expect(tail.events.map((e) => e.streamVersion)).toEqual(Array.from({ length: 100 }, (_, i) => 4901 + i));
    } finally {
      await client.end();
      await store.close();
    }
  }, 60_000);
});
