// `npm start -- --orchestrated` end to end, on PGlite (a fresh directory) and on PostgreSQL (a
// fresh schema dropped afterwards): the checkout saga runs for every order, some complete and
// some are compensated, every invariant holds, and the report prints one saga's log.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isDomainError, sqlAccess } from '../../src/index.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../test/stores.js';
import { runShop, type ShopRunConfig } from './run-shop.js';
import { checkoutSaga } from './checkout/checkout-saga.js';
import { ORDER_CLOSER } from './checkout/order-closer.js';
import { checkInvariants } from './invariants.js';
import { Shop } from './shop.js';
import { openShopStore, type ShopStoreConfig } from './store/open-shop-store.js';

const skip = await postgresUnavailable();
const schema = uniqueSchema();
const dir = await mkdtemp(join(tmpdir(), 'factum-shop-orchestrated-'));
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (!skip) await dropSchemas([schema]);
});

const ORDERS = 80;

async function runOrchestrated(where: ShopStoreConfig, extra: Partial<ShopRunConfig> = {}) {
  const lines: string[] = [];
  // Seed 5 gives every kind of outcome in 80 orders: shortages, declines, timeouts, declined captures, cancels.
  const result = await runShop({ ...where, orders: ORDERS, seed: 5, mode: 'orchestrated', print: (line = '') => lines.push(line), ...extra });
  return { result, output: lines.join('\n') };
}

function checkRun({ result, output }: Awaited<ReturnType<typeof runOrchestrated>>): void {
  for (const invariant of result.invariants) expect(invariant, invariant.name).toMatchObject({ ok: true });
  expect(result.invariants.map((i) => i.name)).toContain('every checkout saga ended as its order did, undoing in reverse order the steps it completed or left in doubt');
  expect(result.invariants.map((i) => i.name)).toContain('every authorisation was captured or voided, never both');
  expect(result.invariants.map((i) => i.name)).toContain('no money kept without a shipment (no capture without shipment)');
  expect(result.invariants.find((i) => i.name.startsWith('every checkout saga'))?.detail).toBe(`${ORDERS} sagas`);

  // One saga per order, each ended: completed or compensated, never failed.
  expect(result.sagas?.completed).toBeGreaterThan(0);
  expect(result.sagas?.compensated).toBeGreaterThan(0);
  expect(result.sagas?.failed).toBeUndefined();
  expect((result.sagas?.completed ?? 0) + (result.sagas?.compensated ?? 0)).toBe(ORDERS);
  expect(result.outcomes.confirmed).toBe(result.sagas?.completed);
  // Failures at later steps happened in this run: a timed-out authorisation and a declined capture.
  expect(result.outcomes['cancelled: payment-timeout']).toBeGreaterThan(0);
  expect(result.outcomes['cancelled: capture-failed']).toBeGreaterThan(0);
  expect(result.deadLetters).toBe(0);

  // The printed saga log: a saga undone from its last step, compensations in reverse order.
  expect(output).toContain('Checkout sagas (orchestrated');
  expect(output).toMatch(/The log of order \S+'s saga \(compensated: the capture step failed \(capture declined by the issuer\)\), stream workflow-checkout-\S+, \d+ events:/);
  expect(output).toMatch(
    /v1 +in +OrderPlaced[^\n]*\n(?:[^\n]*\n)*? +v\d+ +out +CapturePayment +command …\/capture\/1\n +v\d+ +in +CaptureFailed[^\n]*\n +v\d+ +out +CancelShipment +command …\/ship\/compensate\/1\n(?:[^\n]*\n)*? +v\d+ +out +VoidAuthorisation +command …\/authorise\/compensate\/1\n(?:[^\n]*\n)*? +v\d+ +out +ReleaseStock +command …\/reserve\/compensate\/1\n +v\d+ +in +StockReleased[^\n]*\n +v\d+ +end +compensated /,
  );
  expect(output).not.toContain('FAIL');
}

describe('the orchestrated shop on PGlite', () => {
  it('runs every checkout as a saga: some complete, some are compensated, and every invariant holds', { timeout: 300_000 }, async () => {
    checkRun(await runOrchestrated({ dataDir: dir }));
  });

  it('appends nothing when the sagas take every input and send every command again: each replayed step is absorbed', { timeout: 120_000 }, async () => {
    const { store, close } = await openShopStore({ dataDir: dir });
    try {
      const sql = sqlAccess(store)!;
      const head = await store.headPosition();
      // As after a crash that lost the checkpoints: the runner's inputs and commands, and the closer, start over.
      const names = ['workflow:checkout', 'workflow:checkout:commands', ORDER_CLOSER];
      const { rows } = await sql.client.query(`UPDATE ${sql.names.s}checkpoints SET position = 0 WHERE name = ANY($1) RETURNING name`, [names]);
      expect(rows).toHaveLength(3);
      const shop = await Shop.start(store, { saga: checkoutSaga({ authorisationTimeoutMs: 2000 }) });
      try {
        expect(await shop.settle()).toBe(head);
        // Every input was found in its saga's log already; every command was handled again and decided nothing new.
        const counts = shop.checkout!.runner.status().counts;
        expect(counts).toMatchObject({ accepted: 0 });
        expect(counts.duplicates).toBeGreaterThan(ORDERS * 3);
        expect(counts.commands).toBeGreaterThan(ORDERS * 3);
      } finally {
        await shop.stop();
      }
      expect(await store.headPosition()).toBe(head);
      for (const invariant of await checkInvariants(store)) expect(invariant, invariant.name).toMatchObject({ ok: true });
    } finally {
      await close();
    }
  });

  it('holds every invariant when the authorisation timeout is shorter than the system takes to answer: late authorisations are voided', { timeout: 300_000 }, async () => {
    const own = await mkdtemp(join(tmpdir(), 'factum-shop-late-'));
    try {
      const { result } = await runOrchestrated({ dataDir: own }, { orders: 40, authorisationTimeoutMs: 1 });
      for (const invariant of result.invariants) expect(invariant, invariant.name).toMatchObject({ ok: true });
      expect(result.outcomes['cancelled: payment-timeout']).toBeGreaterThan(0);
      // Answers that came after their timeout: authorised, and then voided by the saga (a step that timed out is in doubt, so it is undone).
      const { store, close } = await openShopStore({ dataDir: own });
      try {
        const voidedLate = new Set<string>();
        const authorised = new Set<string>();
        for await (const event of store.readAll({ categories: ['payment'] })) {
          const { orderId, reason } = event.data as { orderId: string; reason?: string };
          if (event.type === 'PaymentAuthorised') authorised.add(orderId);
          if (event.type === 'AuthorisationVoided' && reason === 'checkout compensated' && authorised.has(orderId)) voidedLate.add(orderId);
        }
        expect(voidedLate.size).toBeGreaterThan(0);
      } finally {
        await close();
      }
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('refuses a choreographed run on the store of orchestrated ones', { timeout: 60_000 }, async () => {
    const refused = await runShop({ dataDir: dir, orders: 10, seed: 1 }).catch((error: unknown) => error);
    expect(isDomainError(refused, 'ShopModeMismatch')).toBe(true);
  });
});

describe.skipIf(Boolean(skip))(`the orchestrated shop on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('runs every checkout as a saga: some complete, some are compensated, and every invariant holds', { timeout: 300_000 }, async () => {
    const run = await runOrchestrated({ databaseUrl: POSTGRES_URL, schema, dataDir: 'unused' });
    expect(run.output).toContain(`schema ${schema}`);
    checkRun(run);
  });
});

describe('npm start -- --orchestrated --broker', () => {
  it('exits 2 with a message saying the two do not go together', { timeout: 60_000 }, async () => {
    const failed = await promisify(execFile)('npx', ['tsx', 'examples/shop/main.ts', '--orchestrated', '--broker', 'rabbitmq'], { env: { ...process.env, FACTUM_DATA_DIR: join(dir, 'never') } }).catch((error: unknown) => error as { code: number; stderr: string });
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('--orchestrated runs in one process on one store; it does not run with --broker rabbitmq');
  });
});
