/**
 * Runs the appending subscriber (test/runner-suites/appending-subscriber.ts) with `hang` until
 * killed, on PostgreSQL or on a PGlite directory.
 * Usage: node --import tsx appending-worker.ts postgres <url> <schema> | pglite <data dir>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { openPGliteEventStore } from '../../../src/store/pglite/pglite-event-store.js';
import { appendingSubscriber } from '../appending-subscriber.js';

const [kind, where, schema] = process.argv.slice(2) as [string, string, string];
const store = kind === 'pglite' ? await openPGliteEventStore({ dataDir: where }) : await openPostgresEventStore({ connection: where, schema, maxConnections: 3 });
process.stdout.write('ready\n');
await appendingSubscriber(store, { hang: true }).start();
