/**
 * A rebuild worker process for the crash tests: rebuilds the counting projection on PostgreSQL
 * and SIGKILLs itself at the first progress report of the given phase, after printing the
 * position it had reached. Usage: node --import tsx rebuild-worker.ts <postgres url> <schema> <name> <replaying|swapping>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { rebuildProjection } from '../../../src/projections/rebuild.js';
import { countingProjection } from '../counting-projection.js';

const [url, schema, name, killAt] = process.argv.slice(2) as [string, string, string, string];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 3 });
await rebuildProjection(store, countingProjection(name), {
  batchSize: 40,
  progressEveryMs: 0,
  onProgress: (progress) => {
    if (progress.phase !== killAt) return;
    // Writes to a pipe are synchronous on Linux: the line is out before the kill.
    process.stdout.write(`at ${progress.position}\n`);
    process.kill(process.pid, 'SIGKILL');
    // Nothing more may run in this process: hold the event loop until the kill lands.
    for (;;);
  },
});
process.stdout.write('finished without being killed\n');
