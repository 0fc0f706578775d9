/**
 * One run of the shop, from opening the store to the printout; `main.ts` calls it with the
 * settings of `npm start`, the end-to-end tests with their own. `mode: 'orchestrated'` runs
 * checkout as a saga (checkout/) instead of the services' choreography.
 */
import { checkInvariants, type InvariantResult } from './invariants.js';
import { outcomes, printDeadLetters, printHistories, printInvariants, printLag, printOutcomes, printReadModels, printSnapshots, sampleOrders, type Print } from './report.js';
import { startRun, type ShopMode } from './run-log.js';
import { checkoutSaga } from './checkout/checkout-saga.js';
import { printCheckoutSagas, sagaEnds } from './checkout/print-saga-log.js';
import { Shop } from './shop.js';
import { openShopStore, type ShopStoreConfig } from './store/open-shop-store.js';
import { localCommands, runWorkload, type WorkloadResult } from './workload.js';

export interface ShopRunConfig extends ShopStoreConfig {
  orders: number;
  seed: number;
  /** Where the lines go; nowhere when absent. */
  print?: Print;
  /** 'choreography' by default. */
  mode?: ShopMode;
  /** Orchestrated: how long an authorisation may go unanswered before the saga compensates; 2 s by default. */
  authorisationTimeoutMs?: number;
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
  /** Orchestrated: this run's sagas per outcome (completed, compensated, failed). */
  sagas?: Record<string, number>;
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
    const mode = config.mode ?? 'choreography';
    // Before anything starts: a store of the other mode is refused here, untouched.
    const { run, position } = await startRun(store, config.seed, config.orders, mode);
    const saga = mode === 'orchestrated' ? checkoutSaga({ authorisationTimeoutMs: config.authorisationTimeoutMs ?? 2000 }) : undefined;
    shop = await Shop.start(store, saga ? { saga } : {});
    print(
      saga
        ? `factum shop: checkout orchestrated by a saga (reserve stock, authorise payment, ship, capture; each undone by its compensation) over Orders, Payments, Inventory and Shipping (${opened.where})`
        : `factum shop: Orders, Payments, Inventory and Shipping talking only through events (${opened.where})`,
    );
    print(before === 0n ? 'A new store.' : `The log already holds ${before} positions: continuing from the stored state (checkpoints, stock, read models).`);
    print(`Run ${run}: placing ${config.orders} orders (seed ${config.seed}); a few cards are declined, stock runs short now and then, some customers cancel.`);
    if (saga) print(`  Some issuers never answer an authorisation (the saga gives up after ${(config.authorisationTimeoutMs ?? 2000) / 1000} s, a durable timer), some decline the capture.`);

    const placing = performance.now();
    const workload = await runWorkload(localCommands(store), shop, { run, seed: config.seed, orders: config.orders, checkoutFaults: saga !== undefined });
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
    let sagas: Record<string, number> | undefined;
    if (shop.checkout) {
      await printCheckoutSagas(print, store, shop.checkout.runner, position);
      print();
      sagas = {};
      for (const result of (await sagaEnds(store, position)).values()) sagas[result.outcome] = (sagas[result.outcome] ?? 0) + 1;
    }
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
    return { run, workload, outcomes: thisRun, allOutcomes: allRuns, deadLetters: letters.length, invariants, headPosition, ...(sagas ? { sagas } : {}), seconds: { placing: placed, settling: settled, total } };
  } finally {
    await shop?.stop();
    await opened.close();
  }
}
