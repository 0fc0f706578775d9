/**
 * Runs `archiveEvents` for the archive crash test (src/store/archive/archive-crash.int.test.ts)
 * and prints every progress report as `progress <phase> <events> <segments>`. With a pause
 * (`<phase>:<n>`), it blocks the process after its n-th report of that phase, so that the test
 * kills it at a known point; without one it runs on and is killed wherever it is.
 * Usage: node --import tsx archive-worker.ts postgres <url> <schema> <directory> [pause]
 *        node --import tsx archive-worker.ts pglite <data dir> - <directory> [pause]
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { openPGliteEventStore } from '../../../src/store/pglite/pglite-event-store.js';
import { archiveEvents } from '../../../src/store/archive/archive-events.js';

const [kind, where, schema, directory, pause] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const store = kind === 'pglite' ? await openPGliteEventStore({ dataDir: where }) : await openPostgresEventStore({ connection: where, schema, maxConnections: 2 });
const [pausePhase, pauseAt] = pause ? [pause.split(':')[0], Number(pause.split(':')[1])] : [undefined, 0];
const seen = { writing: 0, removing: 0 };
process.stdout.write('ready\n');
await archiveEvents(store, {
  policy: { rules: [{ category: 'ledger', maxCount: 10 }] },
  directory,
  segmentSize: 1000,
  removeBatch: 1000,
  onProgress: (p) => {
    process.stdout.write(`progress ${p.phase} ${p.events} ${p.segments}\n`);
    if (p.phase === pausePhase && ++seen[p.phase] === pauseAt) {
      process.stdout.write('paused\n');
      // Blocks everything (no timer, no I/O) until the SIGKILL arrives.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
  },
});
process.stdout.write('done\n');
await store.close();
