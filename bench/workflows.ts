/**
 * Workflow throughput (issue 15, first slice): N orders of the test suites' order workflow
 * (test/runner-suites/order-workflow.ts), each taking 3 inputs (placed, paid, and the answer to
 * its one command) and scheduling then cancelling one durable timer, on PostgreSQL and PGlite.
 * The inputs are appended first; the clock runs from the runner's start to the last completion.
 *
 * Run with `npx tsx bench/workflows.ts [orders]` (500 by default); prints a Markdown table.
 */
import type { EventStore } from '../src/core/event-store.js';
import { WorkflowRunner } from '../src/sagas/workflow-runner.js';
import { orderWorkflow, stockHandlers } from '../test/runner-suites/order-workflow.js';
import { openBenchStore } from './bench-stores.js';

const orders = Number(process.argv[2] ?? 500);

async function measure(store: EventStore): Promise<{ seconds: number; inputs: number }> {
  for (let i = 0; i < orders; i++) {
    await store.append(`shop-${i}`, [{ type: 'OrderPlaced', data: { orderId: String(i) } }]);
    await store.append(`pay-${i}`, [{ type: 'PaymentReceived', data: { orderId: String(i) } }]);
  }
  const runner = new WorkflowRunner(store, orderWorkflow, { handlers: stockHandlers(new Map()), pollIntervalMs: 100 });
  const started = performance.now();
  await runner.start();
  for (;;) {
    if ((await runner.queries.instances({ status: 'completed' })).length === orders) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const inputs = runner.status().counts.accepted;
  await runner.stop();
  return { seconds, inputs };
}

const rows: string[] = [];
const report = (backend: string, r: { seconds: number; inputs: number }): void => {
  rows.push(`| ${backend} | ${orders} | ${r.seconds.toFixed(2)} s | ${(orders / r.seconds).toFixed(0)} | ${(r.inputs / r.seconds).toFixed(0)} |`);
};

for (const backend of ['postgres', 'pglite'] as const) {
  const bench = await openBenchStore(backend, { prefix: 'bench_wf', maxConnections: 4 });
  try {
    report(bench.label, await measure(bench.store));
  } finally {
    await bench.close();
  }
}
console.log(['| store | orders | to the last completion | orders/s | inputs/s |', '|---|---|---|---|---|', ...rows].join('\n'));
