/**
 * A projection worker process for the crash tests: runs the counting projection on PostgreSQL
 * until killed. Usage: node --import tsx projection-worker.ts <postgres url> <schema>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { ProjectionRunner } from '../../../src/projections/projection-runner.js';
import { countingProjection } from '../counting-projection.js';

const [url, schema] = process.argv.slice(2) as [string, string];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 3 });
await new ProjectionRunner(store, countingProjection('crash-counts'), { batchSize: 50, pollIntervalMs: 200 }).start();
process.stdout.write('ready\n');
