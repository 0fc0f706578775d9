// The dashboard in a real browser: Debian's Chromium driven by playwright-core, on an embedded
// store (PGlite) with streams, a saga, a subscription with a dead letter and a 100,000-event
// stream. The bundle is built in memory by the server on first use (running from source).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { EventStore } from '../core/event-store.js';
import { Subscription } from '../consumers/subscription.js';
import { tally } from '../../test/runner-suites/tally-workflow.js';
import { WorkflowRunner } from '../sagas/workflow-runner.js';
import { openPGliteEventStore } from '../store/pglite/pglite-event-store.js';
import { testPGlite, uniqueSchema } from '../../test/stores.js';
import { REQUIRE_SERVICES } from '../../test/services.js';
import { eventually } from '../../test/runner-suites/helpers.js';
import { startDashboard, type RunningDashboard } from './start-dashboard.js';
import { ConsistencyMonitor } from '../observability/consistency-monitor.js';
import type { Decider } from '../domain/decider.js';

type CartEvent = { type: 'ItemAdded'; data: { sku: string; quantity: number } } | { type: 'CheckedOut'; data: Record<string, never> };
const cart: Decider<{ lines: Record<string, number>; status: string }, unknown, CartEvent> = {
  initialState: () => ({ lines: {}, status: 'open' }),
  evolve: (state, e) => (e.type === 'ItemAdded' ? { ...state, lines: { ...state.lines, [e.data.sku]: (state.lines[e.data.sku] ?? 0) + e.data.quantity } } : { ...state, status: 'checked out' }),
  decide: () => [],
};

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = 'test-output/dashboard';
const BIG = 100_000;

function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `${CHROMIUM} is not installed (run: bash scripts/services.sh)`;
  if (REQUIRE_SERVICES) throw new Error(`FACTUM_REQUIRE_SERVICES=1 and ${reason}`);
  return reason;
}
const skip = chromiumMissing();


describe.skipIf(Boolean(skip))(`dashboard in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let store: EventStore;
  let subscription: Subscription;
  let dashboard: RunningDashboard;
  let monitor: ConsistencyMonitor;
  let browser: Browser;
  let page: Page;
  let poisoned = true;
  const handled: string[] = [];
  let orderPlacedId = '';

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    store = await openPGliteEventStore({ dataDir: await testPGlite(), schema: uniqueSchema() });
    // A flow over three streams, tied by causation and correlation.
    const placed = await store.append('order-1', [{ type: 'OrderPlaced', data: { orderId: '1', total: 42 }, metadata: { correlationId: 'flow-1' } }]);
    const recorded = [];
    for await (const e of store.readStream('order-1')) recorded.push(e);
    orderPlacedId = recorded[0]!.id;
    await store.append('payment-1', [{ type: 'PaymentTaken', data: { orderId: '1' }, metadata: { correlationId: 'flow-1', causationId: orderPlacedId } }]);
    for (let i = 2; i <= 5; i++) await store.append(`order-${i}`, [{ type: 'OrderPlaced', data: { orderId: String(i), total: i } }]);
    await store.append('mail-1', [{ type: 'PoisonPill', data: { to: 'nobody' } }, { type: 'MailQueued', data: { to: 'somebody' } }]);
    for (let i = 0; i < 3; i++) await store.append(`ping-${i}`, [{ type: 'Pinged', data: { target: 'x' } }]);
    await store.append('cart-1', [
      { type: 'ItemAdded', data: { sku: 'apple', quantity: 1 } },
      { type: 'ItemAdded', data: { sku: 'pear', quantity: 2 } },
      { type: 'CheckedOut', data: {} },
    ]);
    expect(placed.lastPosition).toBeGreaterThan(0n);

    subscription = new Subscription(store, {
      name: 'emails',
      retry: { immediateRetries: 0, backoffRetries: 0 },
      pollIntervalMs: 100,
      handler: (event) => {
        if (event.type === 'PoisonPill' && poisoned) throw new Error('mail server refused: 550 no such user');
        handled.push(event.type);
      },
    });
    await subscription.start();
    const runner = await new WorkflowRunner(store, tally, { timers: false, pollIntervalMs: 50 }).start();
    await runner.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
    await runner.stop();
    await eventually(async () => (await subscription.deadLetters({ status: 'dead' })).length === 1, 20_000, 'the dead letter');

    // The long stream, in batches of 1,000 (one statement each).
    for (let from = 0; from < BIG; from += 1000) {
      await store.append('big-1', Array.from({ length: 1000 }, (_, i) => ({ type: 'Counted', data: { n: from + i + 1 } })));
    }

    monitor = new ConsistencyMonitor(store, { intervalMs: 200, windowMs: 2000 });
    monitor.watch(subscription, { seconds: 2 });
    monitor.start();
    dashboard = await startDashboard({ store, runners: [subscription], workflows: [tally], deciders: { cart }, bounds: monitor, location: 'postgres://app:s3cret@db.internal:5432/shop', sampleIntervalMs: 500 });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await monitor?.stop();
    await subscription?.stop();
    await store?.close();
  });

  const open = async (hash: string) => {
    await page.goto(`${dashboard.url}#${hash}`);
  };

  it('refuses every request without the token: page, asset, API, action (401)', async () => {
    const base = dashboard.url.replace(/\?token=.*$/, '');
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(`${base}?token=wrong`)).status).toBe(401);
    expect((await fetch(`${base}assets/dashboard.js`)).status).toBe(401);
    expect((await fetch(`${base}api/overview`)).status).toBe(401);
    // The API takes the header only: the token in its query is not enough.
    expect((await fetch(`${base}api/overview?token=${dashboard.token}`)).status).toBe(401);
    const letter = (await subscription.deadLetters({ status: 'dead' }))[0]!;
    expect((await fetch(`${base}api/dead-letters/${letter.id}/retry`, { method: 'POST' })).status).toBe(401);
    expect((await subscription.deadLetters({ status: 'dead' })).length).toBe(1);
    expect((await fetch(`${base}api/overview`, { headers: { 'x-factum-token': dashboard.token } })).status).toBe(200);
  });

  it('overview: the head, the runner with its position and lag, the charts, the location without its password', async () => {
    await open('/overview');
    const row = page.locator('tr[data-runner="emails"]');
    await row.waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="head"]').textContent()).toBe(String(await store.headPosition()));
    expect(await row.textContent()).toContain('subscription');
    // Its bound (2 s) is judged by the monitor given to the dashboard.
    const state = await row.locator('td.bound [data-state]').getAttribute('data-state', { timeout: 10_000 });
    expect(['ok', 'lagging', 'stalled', 'stopped']).toContain(state);
    await page.locator('[data-testid="lag-chart"] canvas').waitFor();
    await page.locator('[data-testid="head-chart"] canvas').waitFor();
    expect(await page.locator('[data-testid="location"]').textContent()).toBe('postgres://app:***@db.internal:5432/shop');
    expect(await page.content()).not.toContain('s3cret');
    await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });
  });

  it('streams: search by id and by category, one stream, an event with its cause and correlation', async () => {
    await open('/streams');
    await page.locator('[data-testid="stream-search"]').fill('order-');
    // order-5 is in the unfiltered list too, so wait for the filtered count, not for a row.
    await expect.poll(() => page.locator('[data-testid="stream-list"] tbody tr').count(), { timeout: 10_000 }).toBe(5);
    await page.locator('[data-testid="stream-list"] a', { hasText: 'order-5' }).waitFor();
    await page.locator('[data-testid="stream-search"]').fill('');
    await page.locator('[data-testid="category"]').fill('payment');
    await expect.poll(() => page.locator('[data-testid="stream-list"] tbody tr').count(), { timeout: 10_000 }).toBe(1);
    await page.locator('[data-testid="stream-list"] a', { hasText: 'payment-1' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/streams.png`, fullPage: true });
    await page.locator('[data-testid="stream-list"] a', { hasText: 'payment-1' }).click();
    await page.locator('[data-testid="events"] tr.event-row').first().click();
    expect(await page.locator('td.details').textContent()).toContain(orderPlacedId);
    await page.locator('[data-testid="events"] a').first().click();
    await page.locator('[data-testid="causes"]').waitFor();
    expect(await page.locator('[data-testid="causes"]').textContent()).toContain('OrderPlaced');
    expect(await page.locator('[data-testid="correlated"] tr').count()).toBe(2);
    await page.screenshot({ path: `${SHOTS}/event.png`, fullPage: true });
  });

  it('state at a version: a stream of a category with a decider, folded at each version, with what each event changed', async () => {
    await open('/stream/cart-1/1');
    await page.locator('[data-testid="show-state"]').check();
    const second = page.locator('tr.event-row[data-version="2"] td.changes');
    await second.locator('li').first().waitFor();
    expect(await second.textContent()).toBe('lines.pear + 2');
    expect(await page.locator('tr.event-row[data-version="3"] td.changes').textContent()).toBe('status "open" → "checked out"');
    await page.locator('tr.event-row[data-version="2"] td').first().click();
    expect(JSON.parse((await page.locator('[data-testid="state-after"]').textContent())!)).toEqual({ lines: { apple: 1, pear: 2 }, status: 'open' });
    await page.screenshot({ path: `${SHOTS}/state.png`, fullPage: true });
    // A stream of a category without a decider offers no state.
    await open('/stream/payment-1/1');
    await page.locator('[data-testid="events"]').waitFor();
    expect(await page.locator('[data-testid="show-state"]').count()).toBe(0);
  });

  it(`pages a ${BIG.toLocaleString('en')}-event stream: its first page renders (time measured, not asserted), then the next`, async () => {
    const started = Date.now();
    await open('/stream/big-1/1');
    await page.locator('[data-testid="events"] tr.event-row').nth(49).waitFor();
    const ms = Date.now() - started;
    const inPage = await page.evaluate(() => document.body.dataset.streamRenderedMs);
    console.log(`dashboard: first page of a ${BIG}-event stream rendered in ${ms} ms (navigation to rows; ${inPage} ms from the component's start to rows)`);
    expect(await page.locator('[data-testid="range"]').textContent()).toBe(`versions 1–50 of ${BIG}`);
    await page.screenshot({ path: `${SHOTS}/stream-100k.png`, fullPage: true });
    await page.locator('[data-testid="next-page"]').click();
    await page.locator('[data-testid="range"]', { hasText: 'versions 51–100' }).waitFor();
    expect(await page.locator('[data-testid="events"] tr.event-row').first().textContent()).toContain('Counted');
    await page.locator('[data-testid="jump"]').fill('99990');
    await page.locator('[data-testid="jump"]').press('Enter');
    await page.locator('[data-testid="range"]', { hasText: `versions 99990–${BIG} of ${BIG}` }).waitFor();
  });

  it('dead letters: the failed event with its error; retried from the page, it is handled and disappears', async () => {
    await open('/dead-letters');
    const letter = page.locator('tr.letter[data-status="dead"]');
    await letter.waitFor();
    expect(await letter.textContent()).toContain('mail server refused');
    expect(await page.locator('tr.letter[data-status="parked"]').count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/dead-letters.png`, fullPage: true });
    poisoned = false;
    await letter.locator('[data-testid="retry"]').click();
    await page.locator('[data-testid="no-dead-letters"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="action-result"]').textContent()).toContain('2 handled');
    expect(handled.slice(-2)).toEqual(['PoisonPill', 'MailQueued']);
    expect(await subscription.deadLetters()).toEqual([]);
  });

  it("standalone (no runners, as `factum dashboard` runs): a dead letter is retried by its runner's owner through the database, and the page says who did it", async () => {
    poisoned = true;
    await store.append('mail-2', [{ type: 'PoisonPill', data: { to: 'nobody' } }, { type: 'MailQueued', data: { to: 'somebody' } }]);
    await eventually(async () => (await subscription.deadLetters({ status: 'dead' })).length === 1, 20_000, 'the second dead letter');
    const standalone = await startDashboard({ store, sampleIntervalMs: 60_000 });
    try {
      await page.goto(`${standalone.url}#/dead-letters`);
      const letter = page.locator('tr.letter[data-status="dead"]');
      await letter.waitFor();
      expect(await letter.locator('[data-testid="retry"]').isEnabled()).toBe(true);
      poisoned = false;
      await letter.locator('[data-testid="retry"]').click();
      await page.locator('[data-testid="no-dead-letters"]').waitFor({ timeout: 20_000 });
      expect(await page.locator('[data-testid="action-result"]').textContent()).toMatch(new RegExp(`^retry: 2 handled, 0 still held by .+:${process.pid}$`));
      expect(handled.slice(-2)).toEqual(['PoisonPill', 'MailQueued']);
      await page.screenshot({ path: `${SHOTS}/dead-letters-standalone.png`, fullPage: true });
    } finally {
      await standalone.close();
    }
  });

  it("sagas: instances by state, one saga's log", async () => {
    await open('/sagas');
    await page.locator('[data-testid="saga-list"] a', { hasText: 'x' }).waitFor();
    await page.locator('[data-testid="saga-status"]').selectOption('completed');
    await page.locator('[data-testid="saga-list"] tbody tr').first().waitFor({ state: 'detached' });
    await page.locator('[data-testid="saga-status"]').selectOption('running');
    await page.locator('[data-testid="saga-list"] a', { hasText: 'x' }).click();
    await page.locator('[data-testid="saga-log"]').waitFor();
    expect(await page.locator('[data-testid="saga"] pre').first().textContent()).toContain('"pings": 3');
    expect(await page.locator('[data-testid="saga-log"] tr').count()).toBe(3);
    await page.screenshot({ path: `${SHOTS}/sagas.png`, fullPage: true });
  });
});
