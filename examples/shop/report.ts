/**
 * What `npm start` prints: outcomes, a few orders' histories as causation trees, the read
 * models, the lag of every subscription, the dead letters and the invariants. Reads go to the
 * read models (that is what they are for) and, for the histories, to the log.
 */
import { loadState, readModel, snapshotStoreFor, type DeadLetter, type EventStore, type Projection, type RecordedEvent, type SubscriptionStatus } from '../../src/index.js';
import { WAREHOUSES } from './catalog.js';
import { CATEGORY_OF, inventoryStream } from './events.js';
import { inventoryDecider } from './inventory/inventory-decider.js';
import type { InvariantResult } from './invariants.js';
import { customerOrders } from './orders/customer-orders.js';
import { orderSummary } from './orders/order-summary.js';
import { revenuePerDay } from './payments/revenue-per-day.js';
import { stockLevels } from './inventory/stock-levels.js';
import type { LagPeak } from './shop.js';
import type { WorkloadResult } from './workload.js';

export type Print = (line?: string) => void;

export const money = (cents: number | string): string => `${(Number(cents) / 100).toFixed(2)} EUR`;
const pad = (value: unknown, width: number): string => String(value).padEnd(width);
const lpad = (value: unknown, width: number): string => String(value).padStart(width);

async function rows<R>(store: EventStore, projection: Projection, table: string, sql: (t: string) => string, params: unknown[] = []): Promise<R[]> {
  const model = readModel(store, projection);
  return (await model.query<R>(sql(model.table(table)), params)).rows;
}

/** Orders per outcome, from the order summary. `run` limits it to one run's orders. */
export async function outcomes(store: EventStore, run?: number): Promise<Record<string, number>> {
  const found = await rows<{ outcome: string; n: string | number }>(
    store,
    orderSummary,
    'order_summary',
    (t) => `SELECT CASE WHEN status = 'cancelled' THEN 'cancelled: ' || cancel_reason || CASE WHEN payment = 'refunded' THEN ', refunded' ELSE '' END
                        ELSE status END AS outcome, count(*) AS n
              FROM ${t} WHERE $1::text IS NULL OR order_id LIKE $1 GROUP BY 1 ORDER BY 1`,
    [run === undefined ? null : `${run}-%`],
  );
  return Object.fromEntries(found.map((r) => [r.outcome, Number(r.n)]));
}

export function printOutcomes(print: Print, run: number, thisRun: Record<string, number>, allRuns: Record<string, number>, workload: WorkloadResult): void {
  const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  print(`Outcomes                                   run ${run}   all runs`);
  for (const key of [...new Set([...Object.keys(allRuns), ...Object.keys(thisRun)])].sort()) {
    print(`  ${pad(key, 40)} ${lpad(thisRun[key] ?? 0, 5)} ${lpad(allRuns[key] ?? 0, 10)}`);
  }
  print(`  ${pad('orders', 40)} ${lpad(total(thisRun), 5)} ${lpad(total(allRuns), 10)}`);
  const c = workload.cancels;
  print(`  customer cancellations: ${c.requested} asked, ${c.accepted} accepted, ${c.tooLate} refused (already shipped), ${c.alreadyCancelled} already cancelled`);
  print(`  restocks: ${workload.restocks}`);
}

/** One order of each kind this run produced, for the histories. */
export async function sampleOrders(store: EventStore, run: number): Promise<Array<{ orderId: string; outcome: string }>> {
  const found = await rows<{ order_id: string; outcome: string }>(
    store,
    orderSummary,
    'order_summary',
    (t) => `SELECT DISTINCT ON (outcome) order_id, outcome FROM (
              SELECT order_id, CASE WHEN status = 'cancelled' THEN 'cancelled: ' || cancel_reason || CASE WHEN payment = 'refunded' THEN ', refunded' ELSE '' END
                                    ELSE status END AS outcome FROM ${t} WHERE order_id LIKE $1) o
            ORDER BY outcome, order_id`,
    [`${run}-%`],
  );
  return found.map((r) => ({ orderId: r.order_id, outcome: r.outcome }));
}

/** Prints each order's events as a tree: every event under the one that caused it. */
export async function printHistories(print: Print, store: EventStore, after: bigint, samples: Array<{ orderId: string; outcome: string }>): Promise<void> {
  const wanted = new Set(samples.map((s) => s.orderId));
  const flows = new Map<string, RecordedEvent[]>();
  // The shop's own streams: a saga's log is printed on its own (checkout/print-saga-log.ts).
  for await (const event of store.readAll({ after, categories: [...new Set(Object.values(CATEGORY_OF))] })) {
    const id = event.metadata.correlationId;
    if (id && wanted.has(id)) flows.set(id, [...(flows.get(id) ?? []), event]);
  }
  for (const { orderId, outcome } of samples) {
    const events = flows.get(orderId) ?? [];
    print(`  order ${orderId} (${outcome}): ${events.length} events, correlation id ${orderId}`);
    const ids = new Set(events.map((e) => e.id));
    const children = new Map<string, RecordedEvent[]>();
    for (const e of events) {
      const parent = e.metadata.causationId ?? '';
      children.set(parent, [...(children.get(parent) ?? []), e]);
    }
    const walk = (event: RecordedEvent, depth: number): void => {
      const line = `${'   '.repeat(depth)}└─ ${event.type}`;
      print(`    ${pad(line, 46)} ${pad(`${event.streamId} v${event.streamVersion}`, 26)} @${event.globalPosition}`);
      for (const child of children.get(event.id) ?? []) walk(child, depth + 1);
    };
    // Roots: events caused by a command (a customer's PlaceOrder or CancelOrder), not by another event.
    for (const root of events.filter((e) => !ids.has(e.metadata.causationId ?? ''))) {
      print(`    command ${root.metadata.causationId ?? '?'}`);
      walk(root, 0);
    }
  }
}

export async function printReadModels(print: Print, store: EventStore): Promise<void> {
  print('Stock levels (async projection "stock-levels")');
  print(`  ${pad('warehouse', 10)} ${pad('sku', 12)} ${lpad('on hand', 8)} ${lpad('allocated', 10)} ${lpad('restocked', 10)}`);
  for (const r of await rows<Record<string, string | number>>(store, stockLevels, 'stock_levels', (t) => `SELECT * FROM ${t} ORDER BY warehouse, sku`)) {
    print(`  ${pad(r.warehouse, 10)} ${pad(r.sku, 12)} ${lpad(r.on_hand, 8)} ${lpad(r.allocated, 10)} ${lpad(r.restocked, 10)}`);
  }
  print();
  print('Revenue per day (async projection "revenue-per-day")');
  print(`  ${pad('day', 11)} ${lpad('payments', 8)} ${lpad('charged', 14)} ${lpad('refunds', 8)} ${lpad('refunded', 14)} ${lpad('net', 14)}`);
  for (const r of await rows<Record<string, string | number>>(store, revenuePerDay, 'revenue_per_day', (t) => `SELECT day::text AS day, payments, charged_cents, refunds, refunded_cents FROM ${t} ORDER BY ${t}.day`)) {
    print(`  ${pad(r.day, 11)} ${lpad(r.payments, 8)} ${lpad(money(r.charged_cents!), 14)} ${lpad(r.refunds, 8)} ${lpad(money(r.refunded_cents!), 14)} ${lpad(money(Number(r.charged_cents) - Number(r.refunded_cents)), 14)}`);
  }
  print();
  print('Order summary (async projection "order-summary"): orders by status and payment');
  for (const r of await rows<Record<string, string | number>>(store, orderSummary, 'order_summary', (t) => `SELECT status, payment, count(*) AS n, sum(total_cents) AS total FROM ${t} GROUP BY 1, 2 ORDER BY 1, 2`)) {
    print(`  ${pad(r.status, 14)} ${pad(r.payment, 10)} ${lpad(r.n, 6)} orders ${lpad(money(r.total!), 16)}`);
  }
  print();
  print('Top customers (inline projection "customer-orders", written in the same transaction as each append)');
  for (const r of await rows<Record<string, string | number>>(store, customerOrders, 'customer_orders', (t) => `SELECT * FROM ${t} ORDER BY ordered_cents DESC, customer LIMIT 5`)) {
    print(`  ${pad(r.customer, 12)} ${lpad(r.placed, 4)} placed ${lpad(r.confirmed, 4)} confirmed ${lpad(r.cancelled, 4)} cancelled ${lpad(money(r.ordered_cents!), 14)} ordered`);
  }
}

/** What the inventory snapshots save: a warehouse's state is loaded from its latest snapshot plus the events after it. */
export async function printSnapshots(print: Print, store: EventStore): Promise<void> {
  print(`Snapshots (every ${inventoryDecider.snapshot!.every} events of a warehouse stream)`);
  const snapshots = snapshotStoreFor(store);
  for (const warehouse of WAREHOUSES) {
    const loaded = await loadState(store, inventoryStream(warehouse), inventoryDecider, { snapshots });
    const from = loaded.fromSnapshot === undefined ? 'no snapshot yet' : `the snapshot at v${loaded.fromSnapshot}`;
    print(`  ${pad(inventoryStream(warehouse), 16)} ${lpad(loaded.version, 5)} events: a load reads ${from}, then folds ${loaded.eventsFolded} events`);
  }
}

export function printLag(print: Print, statuses: SubscriptionStatus[], peaks: Map<string, LagPeak>, failures: Map<string, number>): void {
  print('Subscriptions (checkpointed; lag now, and the most it reached during the run)');
  print(`  ${pad('name', 21)} ${pad('state', 8)} ${lpad('position', 9)} ${lpad('lag now', 8)} ${lpad('peak lag', 9)} ${lpad('peak s', 7)} ${lpad('failed tries', 13)}`);
  for (const s of statuses) {
    const peak = peaks.get(s.name);
    print(`  ${pad(s.name, 21)} ${pad(s.state, 8)} ${lpad(s.position, 9)} ${lpad(s.lagEvents, 8)} ${lpad(peak?.events ?? 0n, 9)} ${lpad((peak?.seconds ?? 0).toFixed(1), 7)} ${lpad(failures.get(s.name) ?? 0, 13)}`);
  }
}

export function printDeadLetters(print: Print, letters: Array<{ follower: string; letter: DeadLetter }>): void {
  if (letters.length === 0) {
    print('Dead letters: none');
    return;
  }
  print(`Dead letters: ${letters.length}`);
  for (const { follower, letter } of letters.slice(0, 10)) {
    print(`  ${follower}: ${letter.status} ${letter.event.type} of ${letter.streamId} @${letter.globalPosition} after ${letter.attempts} attempts: ${(letter.error ?? '').split('\n')[0]}`);
  }
}

export function printInvariants(print: Print, results: InvariantResult[]): void {
  print('Self-check against the log');
  for (const r of results) print(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.detail})`);
}
