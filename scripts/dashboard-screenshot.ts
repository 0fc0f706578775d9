/**
 * The README's picture of the dashboard: runs the shop (`npm start`'s defaults) into a scratch
 * directory, starts its services again beside a deliberately slow mailer, opens the dashboard on
 * the store with the repository's factum.config.ts and bounds of 2 s judged from the tables,
 * appends for a few seconds while the charts fill, and writes docs/dashboard-overview.png with
 * Debian's Chromium.
 * Run with `npx tsx scripts/dashboard-screenshot.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import config from '../factum.config.js';
import { runShop } from '../examples/shop/run-shop.js';
import { Shop } from '../examples/shop/shop.js';
import { openEventStore, Subscription } from '../src/index.js';
import { StoreRunnerMetrics } from '../src/observability/store-runner-metrics.js';
import { startDashboard } from '../src/dashboard/start-dashboard.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const dir = await mkdtemp(join(tmpdir(), 'factum-shot-'));
try {
  await runShop({ dataDir: dir, orders: 250, seed: 42 });
  const store = await openEventStore(dir);
  const shop = await Shop.start(store);
  await shop.settle();
  // A mailer that takes 250 ms a mail: at 8 mails a second it falls behind its bound.
  const mailer = await new Subscription(store, { name: 'mailer', filter: { types: ['AuditNoted'] }, handler: () => sleep(250) }).start();
  const projections = (config.projections ?? []).map((p) => p.name);
  const names = [...shop.names(), 'mailer'];
  const bounds = new StoreRunnerMetrics(store, { bounds: Object.fromEntries(names.map((name) => [name, { seconds: 2 }])), projections, intervalMs: 250, windowMs: 4000 }).start();
  const dashboard = await startDashboard({ store, config, bounds, location: './.factum/shop', sampleIntervalMs: 250 });
  // Appends at 8 a second go on while the page is shot, so the rate, the head and the mailer's lag move.
  let appending = true;
  const appends = (async () => {
    for (let i = 0; appending; i++) {
      await store.append(`audit-${i % 4}`, [{ type: 'AuditNoted', data: { n: i } }]);
      await sleep(125);
    }
  })();
  await sleep(6000);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${dashboard.url}#/overview`);
  await page.locator('[data-testid="lag-chart"] canvas').waitFor();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: 'docs/dashboard-overview.png', fullPage: false });
  appending = false;
  await appends;
  await browser.close();
  await dashboard.close();
  await mailer.stop();
  await shop.stop();
  await bounds.stop();
  await store.close();
  console.log('wrote docs/dashboard-overview.png');
} finally {
  await rm(dir, { recursive: true, force: true });
}
