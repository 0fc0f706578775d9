/**
 * One run of the shop, from opening the store to the printout; `main.ts` calls it with the
 * settings of `npm start`, the end-to-end test with its own.
 */
import { checkInvariants, type InvariantResult } from './invariants.js';
import { outcomes, printDeadLetters, printHistories, printInvariants, printLag, printOutcomes, printReadModels, printSnapshots, sampleOrders, type Print } from './report.js';
import { startRun } from './run-log.js';
import { Shop } from './shop.js';
import { openShopStore, type ShopStoreConfig } from './store/open-shop-store.js';
import { localCommands, runWorkload, type WorkloadResult } from './workload.js';

export interface ShopRunConfig extends ShopStoreConfig {
  orders: number;
  seed: number;
  /** Where the lines go; nowhere when absent. */
  print?: Print;
}

export interface ShopRunResult {
  run: number;
  workload: WorkloadResult;
  /** Orders per outcome, this run and all runs so far. */
  outcomes: Record<string, number>;
  allOutcomes: Record<string, number>;
  deadLetters: number;
  invariants: InvariantResult[];
  headPosition: bigint;
  seconds: { placing: number; settling: number; total: number };
}

const seconds = (from: number) => (performance.now() - from) / 1000;

export async function runShop(config: ShopRunConfig): Promise<ShopRunResult> {
  const print: Print = config.print ?? (() => undefined);
  const started = performance.now();
  const opened = await openShopStore(config);
  const { store } = opened;
  let shop: Shop | undefined;
  try {
    const before = await store.headPosition();
    shop = await Shop.start(store);
    const { run, position } = await startRun(store, config.seed, config.orders);
    print(`factum shop: Orders, Payments, Inventory and Shipping talking only through events (${opened.where})`);
    print(before === 0n ? 'A new store.' : `The log already holds ${before} positions: continuing from the stored state (checkpoints, stock, read models).`);
    print(`Run ${run}: placing ${config.orders} orders (seed ${config.seed}); a few cards are declined, stock runs short now and then, some customers cancel.`);

    const placing = performance.now();
    const workload = await runWorkload(localCommands(store), shop, { run, seed: config.seed, orders: config.orders });
    const placed = seconds(placing);
    print(`  placed in ${placed.toFixed(1)} s, in waves of ten (each wave's flows settle before the next); waiting for the last ones…`);
    const settling = performance.now();
    const headPosition = await shop.settle();
    const settled = seconds(settling);
    print(`  settled in ${settled.toFixed(1)} s more: the log is at position ${headPosition}, every subscription has handled it.`);
    print();

    const thisRun = await outcomes(store, run);
    const allRuns = await outcomes(store);
    printOutcomes(print, run, thisRun, allRuns, workload);
    print();
    print('Histories (each event under the event or command that caused it)');
    await printHistories(print, store, position, await sampleOrders(store, run));
    print();
    await printReadModels(print, store);
    print();
    await printSnapshots(print, store);
    print();
    printLag(print, shop.statuses(), shop.peaks, shop.failures);
    const letters = await shop.deadLetters();
    printDeadLetters(print, letters);
    print();
    const invariants = await checkInvariants(store);
    printInvariants(print, invariants);
    const total = seconds(started);
    print();
    print(`Done in ${total.toFixed(1)} s. Run it again: it continues from the stored state.`);
    return { run, workload, outcomes: thisRun, allOutcomes: allRuns, deadLetters: letters.length, invariants, headPosition, seconds: { placing: placed, settling: settled, total } };
  } finally {
    await shop?.stop();
    await opened.close();
  }
}
