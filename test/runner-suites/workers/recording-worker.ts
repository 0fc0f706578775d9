/**
 * Runs the recording subscriber (test/runner-suites/recording-subscriber.ts) on PostgreSQL until
 * killed. Usage: node --import tsx recording-worker.ts <postgres url> <schema>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { recordingSubscriber } from '../recording-subscriber.js';

const [url, schema] = process.argv.slice(2) as [string, string];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 3 });
await recordingSubscriber(store).start();
process.stdout.write('ready\n');
