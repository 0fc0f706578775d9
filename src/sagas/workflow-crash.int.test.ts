// A workflow runner SIGKILLed again and again while 200 orders run through it (real processes,
// real PostgreSQL): every instance completes, every command reaches its receiver once, every
// event it publishes is there once.
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { WorkflowQueries } from './workflow-queries.js';
import { orderWorkflow } from '../../test/runner-suites/order-workflow.js';
import { kill, spawnWorker } from '../../test/runner-suites/processes.js';
import { eventually, sleep } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`workflow runner crashes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('completes 200 orders through 5 SIGKILLs of the runner: each command handled once, each receipt once', { timeout: 180_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const s = store.names.s;
    const orders = 200;
    const kills = 5;
    try {
      await store.client.query(`CREATE TABLE ${s}received (command_id text PRIMARY KEY, order_id text NOT NULL, seen integer NOT NULL DEFAULT 1)`);
      // Paid before the stock is reserved: each order completes when the answer to its command comes back
      // (its payment timer, an hour, never fires however slow a loaded machine makes this).
      for (let i = 0; i < orders; i++) {
        await store.append(`shop-${i}`, [{ type: 'OrderPlaced', data: { orderId: String(i), payWithinMs: 3_600_000 } }]);
        await store.append(`pay-${i}`, [{ type: 'PaymentReceived', data: { orderId: String(i) } }]);
      }
      const queries = new WorkflowQueries(store, orderWorkflow);
      const completed = async () => (await queries.instances({ status: 'completed' })).length;
      let killed = 0;
      const progress: number[] = [];
      for (; killed < kills; killed++) {
        const worker = spawnWorker('workflow-worker.ts', [POSTGRES_URL, schema]);
        try {
          await worker.ready;
          // Somewhere in the middle of the work: after some progress, at a random moment.
          const before = await completed();
          await eventually(async () => (await completed()) > before || before === orders, 30_000, 'progress');
          await sleep(Math.floor(Math.random() * 150));
        } finally {
          await kill(worker);
        }
        progress.push(await completed());
      }
      const last = spawnWorker('workflow-worker.ts', [POSTGRES_URL, schema]);
      try {
        await last.ready;
        await eventually(async () => (await completed()) === orders, 60_000, 'every order completed');
        await eventually(async () => {
          const { rows } = await store.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}received`);
          return Number(rows[0]!.n) === orders;
        }, 30_000, 'every command received');
      } finally {
        await kill(last);
      }
      expect(killed).toBe(kills);
      // At least one kill landed while work was under way.
      expect(progress.some((n) => n < orders)).toBe(true);
      const received = (await store.client.query<{ command_id: string; order_id: string; seen: number }>(`SELECT * FROM ${s}received ORDER BY order_id`)).rows;
      expect(received).toHaveLength(orders);
      expect(received.filter((r) => r.seen !== 1)).toEqual([]);
      // One command per order, under its deterministic id: the log's second event.
      expect(new Set(received.map((r) => r.command_id))).toEqual(new Set(received.map((r) => `workflow-order-${r.order_id}/2`)));
      const counts = async (type: string) =>
        (await store.client.query<{ stream_id: string; n: string }>(`SELECT stream_id, count(*) AS n FROM ${s}events WHERE event_type = $1 GROUP BY stream_id`, [type])).rows;
      const reserved = await counts('StockReserved');
      expect(reserved).toHaveLength(orders);
      expect(reserved.every((r) => Number(r.n) === 1)).toBe(true);
      const receipts = await counts('ReceiptIssued');
      expect(receipts).toHaveLength(orders);
      expect(receipts.every((r) => Number(r.n) === 1)).toBe(true);
      for (const id of ['0', String(orders - 1)]) {
        const instance = (await queries.instance(id))!;
        expect(instance.result).toBe('paid');
        expect(instance.state).toEqual({ orderId: id, reserved: true, paid: true });
      }
      expect(await queries.timers()).toEqual([]);
      expect((await store.client.query(`SELECT * FROM ${s}dead_letters`)).rows).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
