/** The subscriber of the crash test of retries, shared by the test and its worker process. */
import type { EventStore } from '../../src/core/event-store.js';
import { Subscription } from '../../src/consumers/subscription.js';
import type { SqlEventStore } from '../../src/store/sql/sql-event-store.js';

/** Creates the tables: `effects` (one row per handled event, in order) and `poisoned` (streams whose poison events fail). */
export async function createRecordingTables(store: SqlEventStore): Promise<void> {
  await store.client.query(`CREATE TABLE ${store.names.s}effects (id bigserial PRIMARY KEY, stream_id text NOT NULL, n integer NOT NULL)`);
  await store.client.query(`CREATE TABLE ${store.names.s}poisoned (stream_id text PRIMARY KEY)`);
}

/**
 * A subscription with an inbox that writes one `effects` row per event through its transaction;
 * an event with `poison: true` fails while its stream is in `poisoned`. Retries: 1 s apart, 30 of them.
 */
export function recordingSubscriber(store: EventStore & Pick<SqlEventStore, 'names'>): Subscription {
  const s = store.names.s;
  return new Subscription(store, {
    name: 'recorder',
    inbox: true,
    pollIntervalMs: 200,
    retry: { immediateRetries: 0, backoffRetries: 30, initialDelayMs: 1000, factor: 1, jitter: 0 },
    handler: async (event, ctx) => {
      const data = event.data as { n: number; poison?: boolean };
      if (data.poison && (await ctx.sql!.query(`SELECT 1 FROM ${s}poisoned WHERE stream_id = $1`, [event.streamId])).rows.length > 0) {
        throw new Error(`${event.streamId}/${data.n} is poisoned`);
      }
      await ctx.sql!.query(`INSERT INTO ${s}effects (stream_id, n) VALUES ($1, $2)`, [event.streamId, data.n]);
    },
  });
}
