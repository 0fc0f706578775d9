/**
 * Runs the appending subscriber (test/consumers/appending-subscriber.ts) with `hang` on
 * PostgreSQL until killed. Usage: node --import tsx appending-worker.ts <postgres url> <schema>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { appendingSubscriber } from '../appending-subscriber.js';

const [url, schema] = process.argv.slice(2) as [string, string];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 3 });
process.stdout.write('ready\n');
await appendingSubscriber(store, { hang: true }).start();
