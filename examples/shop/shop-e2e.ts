/**
 * The checks of the end-to-end tests, shared by the PGlite and the PostgreSQL one: a run of the
 * shop as `npm start` does it, then its invariants, outcomes and printout.
 */
import { expect } from 'vitest';
import { runShop, type ShopRunConfig, type ShopRunResult } from './run-shop.js';

export async function runAndCheck(config: Omit<ShopRunConfig, 'print'>, expected: { run: number; totalOrders: number }): Promise<{ result: ShopRunResult; output: string }> {
  const lines: string[] = [];
  const result = await runShop({ ...config, print: (line = '') => lines.push(line) });
  const output = lines.join('\n');

  // Each invariant by name, so that a failure says which one broke and for which orders.
  for (const invariant of result.invariants) expect(invariant, invariant.name).toMatchObject({ ok: true });
  expect(result.invariants.map((i) => i.name)).toEqual([
    'every order ended confirmed-and-shipped or cancelled',
    'no stock level ever went negative',
    'every cancelled paid order was refunded exactly once, and no other order was',
    'every reservation was shipped or released, never both',
    'no money kept without a shipment (no capture without shipment)',
    'every authorisation was captured or voided, never both',
    'every checkout saga ended as its order did, undoing in reverse order the steps it completed or left in doubt',
    'every reaction names its cause, in the same correlation',
    'the read models equal a rebuild from the log',
  ]);

  expect(result.run).toBe(expected.run);
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  expect(sum(result.outcomes)).toBe(config.orders);
  expect(sum(result.allOutcomes)).toBe(expected.totalOrders);
  // Only final states: nothing is left half-way once the flows settled.
  expect(Object.keys(result.allOutcomes).every((k) => k === 'confirmed' || k.startsWith('cancelled: '))).toBe(true);
  expect(result.outcomes.confirmed).toBeGreaterThan(config.orders / 2);
  expect(result.outcomes['cancelled: payment-failed']).toBeGreaterThan(0);
  expect(result.allOutcomes['cancelled: out-of-stock, refunded']).toBeGreaterThan(0);
  expect(result.workload.cancels.requested).toBe(result.workload.cancels.accepted + result.workload.cancels.tooLate + result.workload.cancels.alreadyCancelled);
  expect(result.deadLetters).toBe(0);

  // The printout: every section, and causation chains drawn as trees.
  for (const section of ['Outcomes', 'Histories', 'Stock levels', 'Revenue per day', 'Order summary', 'Top customers', 'Snapshots', 'Subscriptions', 'Dead letters: none', 'Self-check against the log']) {
    expect(output).toContain(section);
  }
  expect(output).toMatch(/└─ OrderPlaced[^\n]*\n\s+└─ PaymentSucceeded[^\n]*\n\s+└─ InventoryReserved[^\n]*\n\s+└─ OrderReadyToShip[^\n]*\n\s+└─ OrderShipped[^\n]*\n\s+└─ OrderConfirmed/);
  expect(output).not.toContain('FAIL');
  for (const warehouse of ['east', 'west']) expect(output).toMatch(new RegExp(`inventory-${warehouse}\\s+\\d+ events: a load reads `));
  for (const name of ['orders', 'payments', 'inventory', 'shipping', 'order-summary', 'stock-levels', 'revenue-per-day']) {
    expect(output).toMatch(new RegExp(`\\n  ${name}\\s+running\\s+${result.headPosition}\\s+0\\s`));
  }
  return { result, output };
}
