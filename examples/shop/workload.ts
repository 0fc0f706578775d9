/**
 * The seeded run: customers place orders (a few with declined cards), a flash sale empties a
 * shelf, the warehouses restock now and then (not always in time: some orders meet a
 * shortage), and a few customers cancel: some at once, before any service has seen the order,
 * some once it has shipped (too late). The run is a function of the seed and of what the store
 * already holds: every choice is drawn up front, and each customer acts at a point in the
 * order's flow rather than at a moment of the clock, so the same seed on a new store gives the
 * same orders, the same outcomes and the same events on PGlite and on PostgreSQL.
 *
 * How: orders go in waves of ten. While a wave's customers order (one after the other, in the
 * plan's order) and the hasty ones cancel, the four services are paused; then they run, all at
 * once, until the flows have settled; then the late customers ask to cancel, and the purchasing
 * clerk restocks what the read model shows lowest (it is up to date by then). Each service
 * handles its events in log order, so each warehouse decides its reservations in the plan's
 * order. What still varies is timing, never outcomes: global positions, which of two services
 * reacting to one event appends first (so the versions within a warehouse's stream), lag and
 * durations.
 */
import { CAPTURE_DECLINED_CARD, DECLINED_CARD, GOOD_CARD, CUSTOMERS, PRODUCTS, SILENT_ISSUER_CARD, WAREHOUSES } from './catalog.js';
import { handleCommand, isDomainError, readModel, snapshotStoreFor, type EventStore } from '../../src/index.js';
import { lowestStock, stockLevels } from './inventory/stock-levels.js';
import { inventoryStream, orderStream, type Line, type Warehouse } from './events.js';
import { inventoryDecider } from './inventory/inventory-decider.js';
import { orderDecider } from './orders/order-decider.js';
import { Random } from './random.js';

export interface WorkloadOptions {
  run: number;
  seed: number;
  orders: number;
  /**
   * Gives some good cards to an issuer that never answers an authorisation, or declines the
   * capture: the failures of the orchestrated checkout's later steps. Drawn from a generator of
   * their own, so the rest of the plan is the same as without them.
   */
  checkoutFaults?: boolean;
}

/** What the workload needs of the running shop. */
export interface WorkloadFlow {
  /** Stops the services (their checkpoints hold where they were). */
  pauseServices(): Promise<void>;
  resumeServices(): Promise<void>;
  /** Resolves once every follower has handled the whole log. */
  settle(): Promise<bigint>;
}

export interface WorkloadResult {
  orderIds: string[];
  restocks: number;
  /** Customer cancellations: accepted, refused (the order had shipped), or moot (a compensation had cancelled it). */
  cancels: { requested: number; accepted: number; tooLate: number; alreadyCancelled: number };
}

/** When a customer who changes their mind asks to cancel: at once, or once the order's flow has settled. */
export type CancelPoint = 'at-once' | 'after-settling';

export type PlannedOrder = { orderId: string; customer: string; warehouse: Warehouse; lines: Line[]; card: string; cancel?: CancelPoint; restockQuantity?: number };

const SKUS = Object.keys(PRODUCTS);
const INITIAL_STOCK = 40;
/** Orders per wave; the clerk restocks at the end of each. */
const WAVE = 10;
/** Most customers change their mind at once, some only when it is too late. */
const CANCEL_POINTS: readonly CancelPoint[] = ['at-once', 'at-once', 'at-once', 'at-once', 'after-settling', 'after-settling', 'after-settling'];

/** Everything random is drawn here, up front and in order, so that the seed alone decides it. */
export function planOrders(options: WorkloadOptions): PlannedOrder[] {
  const random = new Random(options.seed * 1000 + options.run);
  const sale = { from: Math.floor(options.orders * 0.4), to: Math.floor(options.orders * 0.5) };
  const plan = Array.from({ length: options.orders }, (_, i) => {
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
    if (random.chance(0.05)) order.cancel = random.pick(CANCEL_POINTS);
    if (i % WAVE === WAVE - 1) order.restockQuantity = random.int(20, 45);
    return order;
  });
  return options.checkoutFaults ? withCheckoutFaults(plan, new Random(options.seed * 1000 + options.run + 0x5eed)) : plan;
}

function withCheckoutFaults(plan: PlannedOrder[], random: Random): PlannedOrder[] {
  return plan.map((order) => {
    const draw = random.next();
    if (order.card !== GOOD_CARD) return order;
    if (draw < 0.04) return { ...order, card: SILENT_ISSUER_CARD };
    if (draw < 0.1) return { ...order, card: CAPTURE_DECLINED_CARD };
    return order;
  });
}

/** What a customer's cancellation came to. */
export type CancelOutcome = 'accepted' | 'too-late' | 'already-cancelled';

/**
 * The commands of the customers and of the purchasing clerk, and the one read the clerk makes.
 * In one process they run on the shared store (`localCommands`); across processes each goes to
 * the service that owns it (Orders or Inventory), which runs `localCommands` on its own store.
 */
export interface ShopCommands {
  /** True once the warehouse has had its first deliveries. */
  stocked(warehouse: Warehouse): Promise<boolean>;
  restock(warehouse: Warehouse, sku: string, quantity: number, commandId: string): Promise<void>;
  placeOrder(order: { orderId: string; customer: string; warehouse: Warehouse; lines: Line[]; card: string }): Promise<void>;
  cancelOrder(orderId: string): Promise<CancelOutcome>;
  /** The (warehouse, SKU) the stock-levels read model shows lowest. */
  lowestStock(): Promise<{ warehouse: Warehouse; sku: string; onHand: number } | undefined>;
}

/** The shop's commands on one store (the services that own them share it, or it is theirs). */
export function localCommands(store: EventStore): ShopCommands {
  const stock = readModel(store, stockLevels);
  const snapshots = snapshotStoreFor(store);
  return {
    stocked: async (warehouse) => (await store.streamInfo(inventoryStream(warehouse))).exists,
    restock: async (warehouse, sku, quantity, commandId) => {
      const metadata = { commandId, correlationId: `restock-${warehouse}` };
      const done = await handleCommand(store, inventoryStream(warehouse), { type: 'RestockItem', data: { warehouse, sku, quantity }, metadata }, inventoryDecider, { snapshots });
      // A snapshot is written off the command's path; wait for it so that closing the store cannot cut it short.
      await done.snapshot;
    },
    placeOrder: async (order) => {
      const metadata = { commandId: `place-${order.orderId}`, correlationId: order.orderId };
      await handleCommand(store, orderStream(order.orderId), { type: 'PlaceOrder', data: order, metadata }, orderDecider);
    },
    cancelOrder: async (orderId) => {
      const command = { type: 'CancelOrder' as const, data: { orderId, reason: 'customer' as const }, metadata: { commandId: `cancel-${orderId}`, correlationId: orderId } };
      try {
        const done = await handleCommand(store, orderStream(orderId), command, orderDecider);
        // Nothing appended: a compensation had cancelled it already.
        return done.events.length > 0 ? 'accepted' : 'already-cancelled';
      } catch (error) {
        if (!isDomainError(error, 'TooLateToCancel')) throw error;
        return 'too-late';
      }
    },
    lowestStock: () => lowestStock(stock),
  };
}

export async function runWorkload(commands: ShopCommands, flow: WorkloadFlow, options: WorkloadOptions): Promise<WorkloadResult> {
  const result: WorkloadResult = { orderIds: [], restocks: 0, cancels: { requested: 0, accepted: 0, tooLate: 0, alreadyCancelled: 0 } };
  // Command ids follow from the run too: a command retried with its id is recognisably the same one.
  const restock = async (warehouse: Warehouse, sku: string, quantity: number) => {
    await commands.restock(warehouse, sku, quantity, `restock-${options.run}-${result.restocks + 1}`);
    result.restocks++;
  };
  const cancel = async (orderId: string) => {
    result.cancels.requested++;
    const outcome = await commands.cancelOrder(orderId);
    if (outcome === 'accepted') result.cancels.accepted++;
    else if (outcome === 'too-late') result.cancels.tooLate++;
    else result.cancels.alreadyCancelled++;
  };

  // A new store gets its first deliveries; a store that has them continues with what is left.
  for (const warehouse of WAREHOUSES) {
    if (await commands.stocked(warehouse)) continue;
    for (const sku of SKUS) await restock(warehouse, sku, INITIAL_STOCK);
  }

  const plan = planOrders(options);
  for (let from = 0; from < plan.length; from += WAVE) {
    const wave = plan.slice(from, from + WAVE);
    await flow.pauseServices();
    try {
      for (const { orderId, cancel: when, restockQuantity: _, ...data } of wave) {
        await commands.placeOrder({ orderId, ...data });
        result.orderIds.push(orderId);
        if (when === 'at-once') await cancel(orderId);
      }
    } finally {
      await flow.resumeServices();
    }
    await flow.settle();
    for (const order of wave) if (order.cancel === 'after-settling') await cancel(order.orderId);
    const quantity = wave.at(-1)?.restockQuantity;
    if (quantity) {
      // The purchasing clerk reorders what the stock-levels read model shows lowest.
      const lowest = await commands.lowestStock();
      if (lowest) await restock(lowest.warehouse, lowest.sku, quantity);
    }
  }
  return result;
}
