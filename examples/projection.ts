import { PGlite } from '@electric-sql/pglite';
import { ProjectionRunner, Subscription, defineProjection, openEventStore, readModel, type NewEvent } from 'factum';

const store = await openEventStore(new PGlite()); // the embedded store, kept in memory here

type OrderPlaced = NewEvent<'OrderPlaced', { total: number }>;

// A read model in SQL: its table, and a handler per event type of the union it is defined over
// (each gets its own event, typed). The runner writes the row and its checkpoint in one
// transaction, so a crash can neither skip nor double-apply an event.
const orderTotals = defineProjection<OrderPlaced>({
  name: 'order-totals',
  tables: { totals: (t) => `CREATE TABLE ${t} (order_id text PRIMARY KEY, total numeric NOT NULL)` },
  handlers: {
    OrderPlaced: async (event, { sql, table }) => {
      await sql!.query(`INSERT INTO ${table('totals')} VALUES ($1, $2)`, [event.streamId, event.data.total]);
    },
  },
});
const runner = await new ProjectionRunner(store, orderTotals).start();

// A subscription with effects: retries with backoff, then a dead letter that parks its stream.
const emails: string[] = [];
const mailer = await new Subscription(store, {
  name: 'order-emails',
  filter: { types: ['OrderPlaced'] },
  inbox: true, // an event whose transaction committed is not handled again (the email itself is outside it)
  handler: (event) => void emails.push(`thanks for order ${event.streamId}`),
}).start();

const { lastPosition } = await store.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }]);
await runner.waitFor(lastPosition, { timeoutMs: 5000 }); // read-your-writes
await mailer.waitFor(lastPosition, { timeoutMs: 5000 });
const totals = readModel(store, orderTotals); // the tables as the handlers name them
const { rows } = await totals.query<{ order_id: string; total: string }>(`SELECT * FROM ${totals.table('totals')} ORDER BY order_id`);
console.log(rows.map((r) => `${r.order_id}: ${Number(r.total)}`).join(', '), '|', emails.join(', '), `| lag: ${mailer.status().lagEvents} events`);

await mailer.stop();
await runner.stop();
await store.close();
