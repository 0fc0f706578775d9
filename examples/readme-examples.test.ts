// Every example in the README, checked to be the file it names and run as written there.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const readme = await readFile('README.md', 'utf8');
const blocks = [...readme.matchAll(/<!-- example: (examples\/[\w-]+\.ts) -->\s*```ts\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, code: m[2]! }));
const written: string[] = ['events.schema.json'];
afterAll(() => Promise.all(written.map((file) => rm(file, { force: true }))));

/** What each example must print. */
const expected: Record<string, string> = {
  'examples/quick-start.ts': ['cart-42 holds 3 items', 'conflict: expected version 1, found 2', '#1 ItemAdded', '#2 ItemAdded', ''].join('\n'),
  'examples/decider.ts': ['cart-1 at version 1 holds 2 items', 'refused: The cart is checked out', ''].join('\n'),
  'examples/projection.ts': 'order-1: 42 | thanks for order order-1 | lag: 0 events\n',
  'examples/transaction.ts': ['balance after withdrawal: 70', 'refused: Not enough money on the account; balance still 70', 'conflict: expected version 1, found 2; balance still 70', 'account-a1: AccountOpened, MoneyWithdrawn', ''].join('\n'),
  'examples/broker.ts': ['billed order-1 v1 (OrderPlaced, attempt 1)', 'confirmed, confirmed', 'dead letter: PaymentFailed after 3 attempts: card declined', ''].join('\n'),
  'examples/relay.ts': [
    'rolled back (the scale is broken): no row, no event, nothing published',
    'Restocked {"sku":"apple","quantity":10} (message id = event id: true)',
    'Restocked {"sku":"apple","quantity":5} (message id = event id: true)',
    'relay: 2 published, lag 0 events',
    '',
  ].join('\n'),
  'examples/event-consumer.ts': ['handled 1, duplicates 1, retried 2, dead letters 1', 'dead letter order-2 after 3 attempts: credit check unavailable', 'invoices: order-1 42; InvoiceIssued {"total":42,"currency":"EUR"}', ''].join('\n'),
  'examples/workflow.ts': [
    '1: paid; log: InputAccepted, CommandIssued, TimerScheduled, InputAccepted, TimerCancelled, Completed',
    '2: expired (2 was never charged)',
    'charged workflow-checkout-1/2; running: 0',
    '',
  ].join('\n'),
  'examples/saga.ts': [
    'order 1: completed; 1/reserve/1, 1/authorise/1, 1/capture/1',
    'order 2: compensated (authorise: failed); 2/reserve/1, 2/authorise/1, 2/reserve/compensate/1',
    'order 3: compensated (authorise: timeout); 3/reserve/1, 3/authorise/1, 3/authorise/compensate/1, 3/reserve/compensate/1',
    "order 3's log: in OrderPlaced, out ReserveStock, in StockReserved, out AuthorisePayment, TimerScheduled, in TimerFired, out VoidAuthorisation, out ReleaseStock, in StockReleased, Completed",
    '',
  ].join('\n'),
  'examples/upcaster.ts': ['2 {"sku":"old","quantity":1}', '2 {"sku":"new","quantity":3}', ''].join('\n'),
};

describe('README examples', () => {
  it('names every example it shows', () => {
    expect(blocks.map((b) => b.file).sort()).toEqual(Object.keys(expected).sort());
  });

  for (const { file, code } of blocks) {
    it(`${file} is in the README as written, and prints what it should`, async () => {
      expect(code).toBe(await readFile(file, 'utf8'));
      // In this repository the package's own name points at the source.
      const copy = file.replace('examples/', 'examples/.readme-');
      written.push(copy);
      await writeFile(copy, code.replace("from 'factum/testing'", "from '../src/testing.js'").replace("from 'factum/pglite'", "from '../src/pglite.js'").replace("from 'factum'", "from '../src/index.js'"));
      const { stdout } = await run(process.execPath, ['--import', 'tsx', copy], { timeout: 60_000 });
      expect(stdout).toBe(expected[file]);
    });
  }
});
