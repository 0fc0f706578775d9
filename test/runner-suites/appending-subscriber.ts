/**
 * A subscription whose handler acknowledges each order: an event appended to `ack-<order>` and
 * a row in `acks`, both in its transaction. With `hang`, it stops before the commit (and says
 * so on stdout), for a crash test to kill it there.
 */
import { Subscription } from '../../src/consumers/subscription.js';
import type { SqlEventStore } from '../../src/store/sql/sql-event-store.js';

export async function createAckTable(store: SqlEventStore): Promise<void> {
  await store.client.query(`CREATE TABLE IF NOT EXISTS ${store.names.s}acks (order_id text PRIMARY KEY)`);
}

export function appendingSubscriber(store: SqlEventStore, options: { hang?: boolean } = {}): Subscription {
  return new Subscription(store, {
    name: 'acknowledge',
    inbox: true,
    filter: { types: ['OrderPlaced'] },
    handler: async (event, context) => {
      await context.append(`ack-${event.streamId}`, [{ type: 'OrderAcknowledged', data: {} }], { expectedVersion: 'no_stream' });
      await context.sql!.query(`INSERT INTO ${store.names.s}acks VALUES ($1)`, [event.streamId]);
      if (options.hang) {
        process.stdout.write('appended\n');
        await new Promise(() => {});
      }
    },
  });
}
