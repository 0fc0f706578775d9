/**
 * Runs the trip saga (test/runner-suites/trip-saga.ts, four steps with compensations) on
 * PostgreSQL until killed, for src/sagas/saga-crash.int.test.ts. Each command first counts its
 * delivery in `attempts` outside any transaction (so a delivery a kill rolled back still counts), then
 * in `received` (in the dispatch's transaction, so a count above 1 is a command that was
 * dispatched and committed again after a crash), then goes to the trip's service, which applies
 * its effect once per command id (its inbox is the effects stream, appended in the same transaction).
 * Usage: node --import tsx saga-worker.ts <postgres url> <schema>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import type { WorkflowMessage } from '../../../src/sagas/workflow.js';
import { WorkflowRunner, type WorkflowCommandContext, type WorkflowCommandHandler, type WorkflowCommandHandlers } from '../../../src/sagas/workflow-runner.js';
import { tripSaga, tripServices, type TripCommand } from '../trip-saga.js';

const [url, schema] = process.argv.slice(2) as [string, string];
// 8, not 4: each command's first statement (counting its delivery) runs on the pool outside the
// dispatch's transaction, while that transaction holds a connection; src/sagas/saga-small-pool.int.test.ts
// runs the runner itself on 4.
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 8 });
const s = store.names.s;
const services = tripServices();
const handlers = Object.fromEntries(
  Object.entries(services).map(([type, service]) => [
    type,
    async (command: WorkflowMessage<TripCommand>, context: WorkflowCommandContext) => {
      // Outside the transaction (autocommit on the pool): counts deliveries a SIGKILL rolled back too.
      await store.client.query(`INSERT INTO ${s}attempts (command_id) VALUES ($1) ON CONFLICT (command_id) DO UPDATE SET n = ${s}attempts.n + 1`, [context.commandId]);
      await context.sql!.query(
        `INSERT INTO ${s}received (command_id, trip_id) VALUES ($1, $2) ON CONFLICT (command_id) DO UPDATE SET seen = ${s}received.seen + 1`,
        [context.commandId, command.data.tripId],
      );
      await (service as WorkflowCommandHandler<TripCommand>)(command, context);
    },
  ]),
  // Object.fromEntries loses the keys; they are the same as the services'.
) as unknown as WorkflowCommandHandlers<TripCommand>;
const runner = new WorkflowRunner(store, tripSaga(), { pollIntervalMs: 100, batchSize: 20, handlers, onError: (error) => console.error('runner error:', error) });
await runner.start();
process.stdout.write('ready\n');
