/**
 * `npm start -- --broker rabbitmq` (or `kafka`, `nats`, `redis`): the shop as four processes, one per service, each
 * with its own store, talking only through the broker. This process plays the customers and the purchasing
 * clerk: it sends their commands to the service that owns them (Orders, Inventory) over the IPC
 * channel of the child process (a command wants its answer, such as "too late to cancel", and
 * a customer is not a service), waits for the flows to settle, then checks the union of the
 * services' logs with the same invariants as the single process.
 */
import { isFactumError, type EventStore } from '../../../src/index.js';
import { checkInvariants, type InvariantResult } from '../invariants.js';
import { orderSummary } from '../orders/order-summary.js';
import { outcomes, printHistories, printInvariants, printOutcomes, printReadModels, printSnapshots, sampleOrders, type Print } from '../report.js';
import type { RunStart } from '../run-log.js';
import { openShopStore, type ShopStore } from '../store/open-shop-store.js';
import { runWorkload, type ShopCommands, type WorkloadFlow, type WorkloadResult } from '../workload.js';
import { auditCopy } from './audit-copy.js';
import { LOCAL_READ_MODELS, SERVICE_NAMES, serviceStoreConfig, type BusConfig, type ServiceName, type ServiceReport } from './bus-config.js';
import { ServiceProcesses } from './service-processes.js';
import { SHOP_BROKERS } from './shop-brokers.js';

export interface BusRunConfig extends BusConfig {
  orders: number;
  seed: number;
  print?: Print;
  /** Called after each wave's orders are placed, before the flows settle (the fault test kills a service here). */
  afterWave?: (wave: number, services: ServiceProcesses) => Promise<void>;
}

export interface BusRunResult {
  run: number;
  topicPrefix: string;
  workload: WorkloadResult;
  outcomes: Record<string, number>;
  allOutcomes: Record<string, number>;
  reports: ServiceReport[];
  deadLetters: number;
  invariants: InvariantResult[];
}

const seconds = (from: number) => (performance.now() - from) / 1000;

/** The customers' and the clerk's commands, each sent to the service that owns it. */
function remoteCommands(services: ServiceProcesses): ShopCommands {
  return {
    stocked: (warehouse) => services.command('inventory', 'stocked', warehouse),
    restock: (warehouse, sku, quantity, commandId) => services.command('inventory', 'restock', warehouse, sku, quantity, commandId),
    lowestStock: () => services.command('inventory', 'lowestStock'),
    placeOrder: (order) => services.command('orders', 'placeOrder', order),
    cancelOrder: (orderId) => services.command('orders', 'cancelOrder', orderId),
  };
}

/** Fails with one line when the broker is not there, before any process is started. */
async function checkBroker(config: BusConfig): Promise<void> {
  const broker = await SHOP_BROKERS[config.broker].open(config.brokerUrl);
  await broker.close();
}

export async function runShopOnBus(config: BusRunConfig): Promise<BusRunResult> {
  const print: Print = config.print ?? (() => undefined);
  const started = performance.now();
  await checkBroker(config);
  const label = SHOP_BROKERS[config.broker].label;
  const services = new ServiceProcesses(config);
  await services.start();
  let workload: WorkloadResult;
  let runStart: RunStart;
  let reports: ServiceReport[];
  try {
    const before = (await services.reports()).reduce((sum, r) => sum + r.head, 0n);
    runStart = await services.request<RunStart>('orders', { op: 'start-run', seed: config.seed, orders: config.orders });
    const where = config.databaseUrl ? `PostgreSQL ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//…@')}, schemas ${config.schema ?? 'factum_shop'}_<service>` : `PGlite in ${config.dataDir}/<service>`;
    print(`factum shop across processes: Orders, Payments, Inventory and Shipping, each a process with its own store (${where}), talking only through ${label} (topics ${services.topicPrefix}.*)`);
    print(SERVICE_NAMES.map((name) => `${name} pid ${services.pid(name)}`).join(', '));
    print(before === 0n ? 'New stores.' : `The services' logs already hold ${before} positions in all: continuing from the stored state (checkpoints, inboxes, queues).`);
    print(`Run ${runStart.run}: placing ${config.orders} orders (seed ${config.seed}) through Orders' process; each service relays its log to ${label} and consumes the others'.`);
    let wave = 0;
    // The services are never paused here: across processes the customers race the services, as
    // they would in production. The outcomes vary from run to run; the invariants may not.
    const flow: WorkloadFlow = {
      pauseServices: async () => undefined,
      resumeServices: async () => {
        wave++;
        await config.afterWave?.(wave, services);
      },
      settle: async () => (await services.settle()).reduce((sum, r) => sum + r.head, 0n),
    };
    const placing = performance.now();
    workload = await runWorkload(remoteCommands(services), flow, { run: runStart.run, seed: config.seed, orders: config.orders });
    reports = await services.settle();
    print(`  placed and settled in ${seconds(placing).toFixed(1)} s, in waves of ten: every relay has published its log, every consumer handled every message.`);
  } finally {
    await services.stop();
  }

  // The services have stopped: their stores can be opened here (an embedded one admits one process).
  const stores = new Map<ServiceName, ShopStore>();
  let audit: { store: EventStore; close(): Promise<void> } | undefined;
  try {
    for (const name of SERVICE_NAMES) stores.set(name, await openShopStore(serviceStoreConfig(config, name)));
    audit = await auditCopy([...stores.values()].map((s) => s.store));
    const copy = audit.store;
    const run = runStart.run;
    const thisRun = await outcomes(copy, run);
    const allRuns = await outcomes(copy);
    print();
    printOutcomes(print, run, thisRun, allRuns, workload);
    print();
    print('Histories (each event under the event or command that caused it, across the four logs)');
    await printHistories(print, copy, 0n, await sampleOrders(copy, run));
    print();
    await printReadModels(print, copy);
    print();
    await printSnapshots(print, stores.get('inventory')!.store);
    print();
    const deadLetters = printProcesses(print, reports);
    print();
    // The read models each service keeps beside its log are checked there; the order summary,
    // which follows all four, exists only in the union.
    const readModels = [
      ...SERVICE_NAMES.map((name) => ({ store: stores.get(name)!.store, projections: LOCAL_READ_MODELS[name] })),
      { store: copy, projections: [{ projection: orderSummary, inline: false }] },
    ];
    const invariants = await checkInvariants(copy, readModels);
    printInvariants(print, invariants);
    print();
    print(`Done in ${seconds(started).toFixed(1)} s. Run it again: every service continues from its stored state.`);
    return { run, topicPrefix: services.topicPrefix, workload, outcomes: thisRun, allOutcomes: allRuns, reports, deadLetters, invariants };
  } finally {
    await audit?.close();
    for (const store of stores.values()) await store.close();
  }
}

/** The services as they last reported; returns the dead letters counted. */
function printProcesses(print: Print, reports: ServiceReport[]): number {
  print('Services (each a process: its relay, and a consumer per topic it reacts to; counts since the process started, "received" over all runs)');
  print(`  ${'service'.padEnd(10)} ${'log head'.padStart(8)} ${'relay at'.padStart(8)} ${'published'.padStart(9)}   consumers`);
  let dead = 0;
  for (const r of reports) {
    const consumers = r.consumers.map((c) => {
      dead += c.deadLettered;
      return `${c.category}: ${c.received} received, ${c.handled} handled, ${c.duplicates} duplicates, ${c.retried} retried`;
    });
    print(`  ${r.service.padEnd(10)} ${String(r.head).padStart(8)} ${String(r.relay.position).padStart(8)} ${String(r.relay.published).padStart(9)}   ${consumers.join('; ')}`);
  }
  print(dead === 0 ? 'Dead letters: none' : `Dead letters: ${dead}`);
  return dead;
}

/** The message `main.ts` prints for a failure: one line for a FactumError (the broker away, a store that will not open). */
export function failureLine(error: unknown): string {
  if (isFactumError(error)) return `factum shop: ${error.message} [${error.code}]`;
  return `factum shop: ${error instanceof Error ? error.message : String(error)}`;
}
