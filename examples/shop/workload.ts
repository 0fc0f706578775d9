/**
 * The seeded run: customers place orders (a few with declined cards), a flash sale empties a
 * shelf, the warehouses restock now and then (not always in time: some orders meet a
 * shortage), and a few customers cancel
 * at random moments, racing the flow of their own order. The inputs follow from the seed; the
 * outcomes of the races follow from timing, and the invariants hold whichever way they go.
 */
import { DECLINED_CARD, GOOD_CARD, CUSTOMERS, PRODUCTS, WAREHOUSES } from './catalog.js';
import { handleCommand, isDomainError, snapshotStoreFor, SqlEventStore, tableNamer, uuidv7, type EventStore } from './factum.js';
import { lowestStock, stockLevels } from './inventory/stock-levels.js';
import { inventoryStream, orderStream, type Line, type Warehouse } from './events.js';
import { inventoryDecider } from './inventory/inventory-decider.js';
import { orderDecider } from './orders/order-decider.js';
import { Random } from './random.js';

export interface WorkloadOptions {
  run: number;
  seed: number;
  orders: number;
  /** Customers placing orders at the same time; 4 by default. */
  concurrency?: number;
}

export interface WorkloadResult {
  orderIds: string[];
  restocks: number;
  /** Customer cancellations: accepted, refused (the order was already shipping), or moot (a compensation had cancelled it). */
  cancels: { requested: number; accepted: number; tooLate: number; alreadyCancelled: number };
}

type PlannedOrder = { orderId: string; customer: string; warehouse: Warehouse; lines: Line[]; card: string; cancelAfterMs?: number; restockQuantity?: number };

const SKUS = Object.keys(PRODUCTS);
const INITIAL_STOCK = 40;
/** Most customers change their mind at once, some a little later, when their order may be on its way. */
const CANCEL_DELAYS_MS = [0, 0, 0, 0, 10, 50, 200];

/** Everything random is drawn here, up front and in order, so that the seed alone decides it. */
export function planOrders(options: WorkloadOptions): PlannedOrder[] {
  const random = new Random(options.seed * 1000 + options.run);
  const sale = { from: Math.floor(options.orders * 0.4), to: Math.floor(options.orders * 0.5) };
  return Array.from({ length: options.orders }, (_, i) => {
    const count = random.int(1, 3);
    const lines = Array.from({ length: count }, () => {
      const sku = random.pick(SKUS);
      return { sku, quantity: random.int(1, 3), priceCents: PRODUCTS[sku]! };
    });
    const warehouse = random.pick(WAREHOUSES);
    // A flash sale on kettles in the west: more demand than the shelf holds, so orders run short
    // until the purchasing clerk (below) catches up.
    const onSale = i >= sale.from && i < sale.to;
    const order: PlannedOrder = {
      orderId: `${options.run}-${String(i + 1).padStart(3, '0')}`,
      customer: random.pick(CUSTOMERS),
      warehouse: onSale ? 'west' : warehouse,
      lines: onSale ? [{ sku: 'kettle', quantity: 5, priceCents: Math.round(PRODUCTS.kettle! * 0.7) }, ...lines.slice(1)] : lines,
      card: random.chance(0.08) ? DECLINED_CARD : GOOD_CARD,
    };
    if (random.chance(0.05)) order.cancelAfterMs = random.pick(CANCEL_DELAYS_MS);
    if (i % 10 === 9) order.restockQuantity = random.int(20, 45);
    return order;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runWorkload(store: EventStore, options: WorkloadOptions): Promise<WorkloadResult> {
  if (!(store instanceof SqlEventStore)) throw new Error('The shop needs a SQL store: PGlite or PostgreSQL');
  const sql = store;
  const snapshots = snapshotStoreFor(store);
  const result: WorkloadResult = { orderIds: [], restocks: 0, cancels: { requested: 0, accepted: 0, tooLate: 0, alreadyCancelled: 0 } };
  const restock = async (warehouse: Warehouse, sku: string, quantity: number) => {
    const metadata = { commandId: uuidv7(), correlationId: `restock-${warehouse}` };
    const done = await handleCommand(store, inventoryStream(warehouse), { type: 'RestockItem', data: { warehouse, sku, quantity }, metadata }, inventoryDecider, { snapshots });
    // A snapshot is written off the command's path; wait for it so that closing the store cannot cut it short.
    await done.snapshot;
    result.restocks++;
  };

  // A new store gets its first deliveries; a store that has them continues with what is left.
  for (const warehouse of WAREHOUSES) {
    if ((await store.streamInfo(inventoryStream(warehouse))).exists) continue;
    for (const sku of SKUS) await restock(warehouse, sku, INITIAL_STOCK);
  }

  const cancellations: Promise<void>[] = [];
  const cancel = async (orderId: string, afterMs: number) => {
    if (afterMs > 0) await sleep(afterMs);
    result.cancels.requested++;
    const command = { type: 'CancelOrder' as const, data: { orderId, reason: 'customer' as const }, metadata: { commandId: uuidv7(), correlationId: orderId } };
    try {
      const done = await handleCommand(store, orderStream(orderId), command, orderDecider);
      // Nothing appended: a compensation had cancelled it already.
      if (done.events.length > 0) result.cancels.accepted++;
      else result.cancels.alreadyCancelled++;
    } catch (error) {
      if (!isDomainError(error, 'TooLateToCancel')) throw error;
      result.cancels.tooLate++;
    }
  };

  const plan = planOrders(options);
  let next = 0;
  const customer = async () => {
    while (next < plan.length) {
      const order = plan[next++]!;
      const { orderId, cancelAfterMs, restockQuantity, ...data } = order;
      const metadata = { commandId: uuidv7(), correlationId: orderId };
      await handleCommand(store, orderStream(orderId), { type: 'PlaceOrder', data: { orderId, ...data }, metadata }, orderDecider);
      result.orderIds.push(orderId);
      if (cancelAfterMs !== undefined) cancellations.push(cancel(orderId, cancelAfterMs));
      if (restockQuantity) {
        // The purchasing clerk reorders what the stock-levels read model shows lowest; it lags
        // a little behind the warehouse, so shortages still happen now and then.
        const lowest = await lowestStock(sql.client, tableNamer(stockLevels, sql.names.s)('stock_levels'));
        if (lowest) await restock(lowest.warehouse, lowest.sku, restockQuantity);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, customer));
  await Promise.all(cancellations);
  return result;
}
