// `/metrics` of `factum serve` and of `factum dashboard`, as an operator's Prometheus scrapes
// them: the built bin spawned on an embedded directory and on PostgreSQL, its page parsed as
// Prometheus text, the lag of a subscription whose checkpoint is a known number of events
// behind the head, its dead letter, its bound and its state, and the token refused or taken.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subscription } from '../../consumers/subscription.js';
import type { EventStore } from '../../core/event-store.js';
import { openEventStore } from '../../store/open-event-store.js';
import { buildCli, type CliBuild } from '../../../test/cli-build.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../../test/stores.js';

const pgSkip = await postgresUnavailable();
let cli: CliBuild;
let work: string;
let configFile: string;

beforeAll(async () => {
  cli = await buildCli();
  work = await mkdtemp(join(tmpdir(), 'factum-metrics-'));
  configFile = join(work, 'factum.config.mjs');
  // Bounds and projections come from the operator's config module: the tables hold neither.
  await writeFile(configFile, `export default { bounds: { behind: { events: 2 } }, projections: [{ name: 'caught-up' }] };\n`);
}, 200_000);
afterAll(async () => {
  await cli?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A long-running `factum` process: its first line of output, its exit. */
function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(cli.dir, 'dist', 'cli', 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const printed = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const look = () => {
        const found = pattern.exec(output);
        if (found) resolve(found[0]);
      };
      child.stdout.on('data', (chunk: Buffer) => ((output += chunk.toString()), look()));
      child.stderr.on('data', (chunk: Buffer) => ((output += chunk.toString()), look()));
      void exited.then((code) => reject(new Error(`factum ${args[0]} exited (${code}): ${output}`)));
    });
  return { child, exited, printed, output: () => output };
}

type Family = { name: string; type: string; metrics: Array<{ value?: string; labels?: Record<string, string> }> };

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await response.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

function value(page: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const found = page.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return found?.value === undefined ? undefined : Number(found.value);
}

/**
 * `behind` handles order-1's two events (the second a poison: one dead letter) and stops; three
 * more are appended, which `caught-up` handles: `behind` is 3 events behind the head, `caught-up` 0.
 */
async function prepare(store: EventStore): Promise<void> {
  await store.append('order-1', [{ type: 'OrderPlaced', data: {} }, { type: 'Poison', data: {} }]);
  const run = async (name: string) => {
    const subscription = new Subscription(store, {
      name,
      retry: { immediateRetries: 0, backoffRetries: 0 },
      handler: (event) => {
        if (event.type === 'Poison' && name === 'behind') throw new Error('poison');
      },
    });
    await subscription.start();
    await subscription.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
    await subscription.stop();
  };
  await run('behind');
  await store.append('order-2', [1, 2, 3].map((n) => ({ type: 'OrderPaid', data: { n } })));
  await run('caught-up');
}

/** What both endpoints must show of the prepared tables. */
function expectPrepared(page: Map<string, Family>, lagBehind = 3): void {
  expect(value(page, 'factum_lag_events', { runner: 'behind', kind: 'subscription' })).toBe(lagBehind);
  expect(value(page, 'factum_lag_events', { runner: 'caught-up', kind: 'projection' })).toBe(lagBehind - 3);
  const seconds = value(page, 'factum_lag_seconds', { runner: 'behind', kind: 'subscription' })!;
  expect(seconds).toBeGreaterThan(0);
  // The oldest event it has not handled was appended in this test, which is under 10 minutes.
  expect(seconds).toBeLessThan(600);
  expect(value(page, 'factum_dead_letters_total', { runner: 'behind', kind: 'subscription' })).toBe(1);
  expect(value(page, 'factum_dead_letters_total', { runner: 'caught-up', kind: 'projection' })).toBe(0);
  // Its bound is 2 events: it is outside it since the first reading.
  expect(value(page, 'factum_consistency_breaches_total', { runner: 'behind' })).toBe(1);
  expect(page.get('factum_consistency_breaches_total')?.type).toBe('COUNTER');
  expect(page.get('factum_lag_events')?.type).toBe('GAUGE');
}

type Location = { name: string; skip?: string; open: () => Promise<{ db: string; schema?: string }>; cleanup: () => Promise<void> };
const schemas = [uniqueSchema()];
const locations: Location[] = [
  { name: 'an embedded directory', open: async () => ({ db: join(work, 'store') }), cleanup: async () => {} },
  { name: 'PostgreSQL', ...(pgSkip ? { skip: pgSkip } : {}), open: async () => ({ db: POSTGRES_URL, schema: schemas[0]! }), cleanup: () => dropSchemas(schemas) },
];

for (const location of locations) {
  describe.skipIf(location.skip !== undefined)(`/metrics on ${location.name}${location.skip ? ` (skipped: ${location.skip})` : ''}`, () => {
    let db: string;
    let schema: string | undefined;
    let args: string[];
    const storeOptions = () => ({ migrate: true, ...(schema ? { schema } : {}) });

    beforeAll(async () => {
      ({ db, schema } = await location.open());
      args = ['--db', db, ...(schema ? ['--schema', schema] : []), '--config', configFile];
      const store = await openEventStore(db, storeOptions());
      try {
        await prepare(store);
      } finally {
        await store.close();
      }
    }, 120_000);
    afterAll(() => location.cleanup());

    it('factum serve: the lag, dead letters and bound state of the tables behind a bearer token, /healthz open, exit 0 on SIGINT and SIGTERM', { timeout: 90_000 }, async () => {
      const token = 'metrics-token-for-the-test';
      const embedded = location.name.startsWith('an embedded');
      // For people on one store, for scripts (`--json`) on the other; stopped by Ctrl-C on one, by SIGTERM on the other.
      const serve = start(['serve', ...args, '--port', '0', ...(embedded ? [] : ['--json'])], { FACTUM_METRICS_TOKEN: token });
      try {
        let url: string;
        if (embedded) url = await serve.printed(/http:\/\/127\.0\.0\.1:\d+\/metrics/);
        else {
          const printed = JSON.parse(await serve.printed(/^\{.*\}$/m)) as { url: string; healthz: string; token: string };
          url = printed.url;
          expect(printed).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/), healthz: url.replace(/metrics$/, 'healthz'), token: 'required' });
        }
        // The token is never printed: the operator set it.
        expect(serve.output()).not.toContain(token);
        const missing = await fetch(url);
        expect(missing.status).toBe(401);
        expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect((await fetch(url, { headers: { authorization: 'Bearer not-the-token' } })).status).toBe(401);
        expect((await fetch(`${url}?token=${token}`)).status).toBe(401);
        const health = await fetch(url.replace(/metrics$/, 'healthz'));
        expect(health.status).toBe(200);
        expect(await health.text()).toBe('ok\n');

        const auth = { authorization: `Bearer ${token}` };
        expectPrepared(await scrape(url, auth));
        // A second reading without progress while lag exists: stalled (a runner that is not
        // running looks so from the tables), and the breach is not counted twice.
        const second = await scrape(url, auth);
        expect(value(second, 'factum_consistency_state', { runner: 'behind', state: 'stalled' })).toBe(1);
        expect(value(second, 'factum_consistency_state', { runner: 'behind', state: 'ok' })).toBe(0);
        expect(value(second, 'factum_consistency_state', { runner: 'caught-up', state: 'ok' })).toBe(1);
        expect(value(second, 'factum_consistency_breaches_total', { runner: 'behind' })).toBe(1);

        if (!embedded) {
          // PostgreSQL takes other sessions: the lag read at scrape time follows what is appended now.
          const store = await openEventStore(db, storeOptions());
          await store.append('order-3', [{ type: 'OrderPlaced', data: {} }, { type: 'OrderPlaced', data: {} }]);
          await store.close();
          const third = await scrape(url, auth);
          expect(value(third, 'factum_lag_events', { runner: 'behind', kind: 'subscription' })).toBe(5);
          expect(value(third, 'factum_lag_events', { runner: 'caught-up', kind: 'projection' })).toBe(2);
        }
      } finally {
        serve.child.kill(embedded ? 'SIGINT' : 'SIGTERM');
      }
      expect(await serve.exited).toBe(0);
    });

    it('factum dashboard: /metrics beside its pages, behind its token as a bearer token, exit 0 on SIGTERM', { timeout: 90_000 }, async () => {
      const embedded = location.name.startsWith('an embedded');
      // A random token by default; one the operator fixes (so that a scrape job keeps it across restarts) on PostgreSQL.
      const fixed = embedded ? undefined : 'd'.repeat(64);
      const dashboard = start(['dashboard', ...args], fixed ? { FACTUM_DASHBOARD_TOKEN: fixed } : {});
      try {
        const url = await dashboard.printed(/http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}/);
        const token = new URL(url).searchParams.get('token')!;
        if (fixed) expect(token).toBe(fixed);
        const metrics = url.replace(/\?token=.*$/, 'metrics');
        expect((await fetch(metrics)).status).toBe(401);
        expect((await fetch(metrics, { headers: { authorization: `Bearer ${'0'.repeat(64)}` } })).status).toBe(401);
        // The page's way (the token in the query) is not taken for /metrics: scrape URLs are shown and logged.
        expect((await fetch(`${metrics}?token=${token}`)).status).toBe(401);
        const page = await scrape(metrics, { authorization: `Bearer ${token}` });
        expectPrepared(page, embedded ? 3 : 5);
        // The API's header works as well.
        expect(value(await scrape(metrics, { 'x-factum-token': token }), 'factum_lag_events', { runner: 'behind', kind: 'subscription' })).toBeGreaterThan(0);
      } finally {
        dashboard.child.kill('SIGTERM');
      }
      expect(await dashboard.exited).toBe(0);
    });
  });
}
