/**
 * Runs the order workflow (test/runner-suites/order-workflow.ts) on PostgreSQL until killed, with
 * an idempotent stock service as the handler of its commands: it records each command id in
 * `received` in the dispatch's transaction and reserves only for an id it has not seen.
 * Usage: node --import tsx workflow-worker.ts <postgres url> <schema>
 */
import { openPostgresEventStore } from '../../../src/store/postgres/postgres-event-store.js';
import { WorkflowRunner } from '../../../src/sagas/workflow-runner.js';
import { orderWorkflow } from '../order-workflow.js';

const [url, schema] = process.argv.slice(2) as [string, string];
const store = await openPostgresEventStore({ connection: url, schema, maxConnections: 4 });
const s = store.names.s;
const runner = new WorkflowRunner(store, orderWorkflow, {
  pollIntervalMs: 100,
  batchSize: 10,
  handlers: {
    ReserveStock: async (command, context) => {
      const { rows } = await context.sql!.query(
        `INSERT INTO ${s}received (command_id, order_id) VALUES ($1, $2) ON CONFLICT (command_id) DO UPDATE SET seen = ${s}received.seen + 1 RETURNING seen`,
        [context.commandId, command.data.orderId],
      );
      if ((rows[0] as { seen: number }).seen > 1) return;
      await context.store.append(`stock-${command.data.orderId}`, [{ type: 'StockReserved', data: { orderId: command.data.orderId } }]);
    },
  },
});
await runner.start();
process.stdout.write('ready\n');
