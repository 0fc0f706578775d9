/**
 * One instance of a standby subscription on PostgreSQL, until killed: it writes an `effects`
 * row (event id, this pid) per event through its transaction, and prints its state as it changes.
 * Usage: node --import tsx standby-worker.ts <postgres url> <schema>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { Subscription } from '../../../src/consumers/subscription.js';

const [url, schema] = process.argv.slice(2) as [string, string];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 3 });
const sub = new Subscription(store, {
  name: 'single',
  standby: true,
  leaseMs: 1500,
  inbox: true,
  pollIntervalMs: 200,
  handler: async (event, ctx) => {
    await ctx.sql!.query(`INSERT INTO ${store.names.s}effects (event_id, pid) VALUES ($1, $2)`, [event.id, process.pid]);
  },
});
await sub.start();
let state = sub.status().state;
process.stdout.write(`ready ${state}\n`);
setInterval(() => {
  if (sub.status().state === state) return;
  state = sub.status().state;
  process.stdout.write(`state ${state}\n`);
}, 20);
