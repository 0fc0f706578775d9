// Every `npx factum` line of the README's CLI section, run as written on the data of a shop run
// (the paths swapped for temporary ones, the placeholders for real ids), through the built bin.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runShop } from '../../examples/shop/run-shop.js';
import { Subscription } from '../consumers/subscription.js';
import { openEventStore } from '../store/open-event-store.js';
import { buildCli, type CliBuild } from '../../test/cli-build.js';

const readme = await readFile('README.md', 'utf8');
const section = readme.slice(readme.indexOf("On the shop's data after `npm start`"));
const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
const lines = block
  .split('\n')
  .map((line) => line.replace(/#.*$/, '').trim())
  .filter((line) => line.startsWith('npx factum'));

let cli: CliBuild;
let work: string;
let shopDir: string;
let eventId: string;
let deadLetterId: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'factum-cli-readme-'));
  shopDir = join(work, 'shop');
  const [build, shop] = await Promise.all([buildCli(), runShop({ dataDir: shopDir, orders: 20, seed: 7 })]);
  cli = build;
  expect(shop.invariants.every((r) => r.ok)).toBe(true);
  // A dead letter for `dead-letters show <id>`: the shop itself has none when all goes well.
  const store = await openEventStore(shopDir);
  const failing = new Subscription(store, {
    name: 'readme-failing',
    filter: { types: ['OrderPlaced'] },
    retry: { immediateRetries: 0, backoffRetries: 0 },
    handler: (event) => {
      if (event.streamId === 'order-1-002') throw new Error('a poison event for the README');
    },
  });
  await failing.start();
  await failing.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
  deadLetterId = (await failing.deadLetters())[0]!.id;
  await failing.stop();
  for await (const event of store.readStream('order-1-001')) eventId ??= event.id;
  await store.close();
}, 300_000);
afterAll(async () => {
  await cli?.remove();
  await rm(work, { recursive: true, force: true });
});

it('the README shows the commands', () => {
  expect(lines.length).toBeGreaterThanOrEqual(12);
});

it('every README command runs on the shop and exits 0 with output', async () => {
  for (const line of lines) {
    const args = line
      .replace('<event id>', eventId)
      .replace('<id>', deadLetterId)
      .split(/\s+/)
      .slice(2)
      .map((arg) => (arg === './.factum/shop' ? shopDir : arg === './shop-copy' ? join(work, 'copy') : arg === 'shop.jsonl' ? join(work, 'shop.jsonl') : arg === './shop-archive' ? join(work, 'archive') : arg));
    const ran = await cli.factum(args, { env: { ...process.env, FACTUM_DATA_DIR: shopDir } });
    expect({ line, code: ran.code, stderr: ran.stderr }).toEqual({ line, code: 0, stderr: '' });
    expect(ran.stdout.trim().length, line).toBeGreaterThan(0);
  }
}, 300_000);
