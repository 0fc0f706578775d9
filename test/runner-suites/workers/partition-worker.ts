/**
 * A partitioned worker process: records every event it handles, with its partition and its own
 * name, in the same transaction as the partition's checkpoint. Runs until killed.
 * Usage: node --import tsx partition-worker.ts <postgres url> <schema> <worker name>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { PartitionedSubscription } from '../../../src/consumers/partitioned-subscription.js';
import { partitionOf } from '../../../src/consumers/partition-of.js';

const [url, schema, worker] = process.argv.slice(2) as [string, string, string];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 12 });
const subscription = new PartitionedSubscription(store, {
  name: 'shared',
  partitions: 8,
  leaseMs: 1500,
  owner: worker,
  batchSize: 50,
  pollIntervalMs: 200,
  handler: async (event, { sql }) => {
    await sql!.query(`INSERT INTO "${schema}".applied (event_id, partition, worker) VALUES ($1, $2, $3)`, [event.id, partitionOf(event.streamId, 8), worker]);
  },
});
await subscription.start();
process.stdout.write('ready\n');
