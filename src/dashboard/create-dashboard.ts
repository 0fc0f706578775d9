import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isFactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { Decider } from '../domain/decider.js';
import type { BoundReport } from '../observability/consistency-bound.js';
import type { Workflow } from '../sagas/workflow.js';
import type { FactumConfig } from '../cli/factum-config.js';
import { dashboardApi, type DashboardRunner } from './dashboard-api.js';
import { dashboardBundle } from './dashboard-bundle.js';
import { HeadSampler } from './head-sampler.js';
import { redactUrl } from './redact-url.js';
import { serveMetrics, type MetricsSource } from './serve-metrics.js';
import { headerToken, tokenMatcher } from './token-matcher.js';

export interface DashboardOptions {
  store: EventStore;
  /** The config module's content: its `workflows` are the sagas shown. */
  config?: FactumConfig;
  /** Workflows to show besides the config's. */
  workflows?: Array<Workflow<any, any, any, any>>;
  /** Deciders by stream category, besides the config's: a stream's state at each version. */
  deciders?: Record<string, Decider<any, any, any>>;
  /** Runners of this process whose dead letters the page may retry and skip. */
  runners?: DashboardRunner[];
  /** The token every request must carry; a random one (32 bytes, hex) by default. */
  token?: string;
  /** Where the store is (a URL or a directory), shown on the page without its password. */
  location?: string;
  /** The path the handler is mounted under in your server (`/factum`); none by default. */
  basePath?: string;
  /**
   * What `GET /metrics` serves (Prometheus text), behind the token as a bearer token: e.g.
   * `await prometheusMetrics()` of `factum/prometheus`, whose page holds the runners this process
   * runs. Without it `/metrics` is a 404.
   */
  metrics?: MetricsSource;
  /**
   * The runners' bound states for the overview: a `ConsistencyMonitor` of this process, or
   * anything with its `reports()` (the standalone command judges the config's `bounds` from the tables).
   */
  bounds?: { reports(): BoundReport[] };
  /** How often the head position and lags are sampled for the charts; 1 s by default. */
  sampleIntervalMs?: number;
  /** Samples kept (a ring); 300 by default. */
  history?: number;
  /**
   * A retry or skip of a dead letter whose runner is not in `runners` is asked of its running
   * owner through the database (SQL stores): how long the POST waits for the outcome, in
   * seconds; 10 by default.
   */
  actionWaitSeconds?: number;
}

/** A dashboard that is not listening yet: mount `handler` in your own `node:http` server. */
export interface Dashboard {
  handler(req: IncomingMessage, res: ServerResponse): void;
  token: string;
  /** The page's path with its token: append it to your server's origin. */
  path: string;
  /** Stops the sampling (the store stays open: it is yours). */
  close(): Promise<void>;
}

/** The header the API (and every POST) needs. */
export const TOKEN_HEADER = 'x-factum-token';

/**
 * The factum dashboard as a request handler: overview (head, append rate, runners and their
 * lag, charted), streams and their events page by page, dead letters with retry and skip, and
 * sagas. Every request needs the token: pages and assets in the query (`?token=`), the API in
 * the `x-factum-token` header, `/metrics` (Prometheus text, with the `metrics` option) as a
 * bearer token (`Authorization: Bearer <token>`, or `x-factum-token`); anything else is a 401.
 * The handler logs nothing.
 *
 * @example
 * const dashboard = createDashboard({ store, runners: [emails], basePath: '/factum' })
 * http.createServer((req, res) => req.url?.startsWith('/factum') ? dashboard.handler(req, res) : app(req, res)).listen(3000)
 * console.log(`http://127.0.0.1:3000${dashboard.path}`)
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const token = options.token ?? randomBytes(32).toString('hex');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const sampler = new HeadSampler(options.store, { intervalMs: options.sampleIntervalMs ?? 1000, size: options.history ?? 300 });
  sampler.start();
  const context = {
    store: options.store,
    sampler,
    runners: options.runners ?? [],
    workflows: [...(options.config?.workflows ?? []), ...(options.workflows ?? [])],
    deciders: { ...options.config?.deciders, ...options.deciders },
    ...(options.bounds ? { bounds: options.bounds } : {}),
    ...(options.location ? { location: redactUrl(options.location) } : {}),
    ...(options.actionWaitSeconds !== undefined ? { actionWaitSeconds: options.actionWaitSeconds } : {}),
  };
  const matches = tokenMatcher(token);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) || '/' : url.pathname;
    if (path === '/metrics') return serveMetrics(req, res, matches(headerToken(req)), options.metrics, 'the dashboard token');
    const header = req.headers[TOKEN_HEADER];
    const isApi = path.startsWith('/api/');
    // The API and the actions take the header only: a link or a form elsewhere cannot carry it.
    const allowed = isApi ? matches(typeof header === 'string' ? header : undefined) : req.method === 'GET' && matches(url.searchParams.get('token'));
    if (!allowed) return send(res, 401, { code: 'UNAUTHORIZED', message: 'The dashboard needs its token (printed with its URL when it started)' });
    if (isApi) {
      const body = await dashboardApi(context, req.method ?? 'GET', path.slice(5).split('/').filter(Boolean).map(decodeURIComponent), url.searchParams);
      return send(res, 200, body);
    }
    if (path === '/assets/dashboard.js') {
      const js = await dashboardBundle();
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
      res.end(js);
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
      res.end(page(basePath, token));
      return;
    }
    send(res, 404, { code: 'NOT_FOUND', message: `Nothing at ${path}` });
  };

  return {
    token,
    path: `${basePath}/?token=${token}`,
    handler(req, res) {
      handle(req, res).catch((error: unknown) => {
        const code = isFactumError(error) ? error.code : 'INTERNAL';
        const status = code === 'NOT_FOUND' || code === 'DEAD_LETTER_NOT_FOUND' ? 404 : code === 'INVALID_ARGUMENT' ? 400 : isFactumError(error) ? 409 : 500;
        if (!res.headersSent) send(res, status, { code, message: error instanceof Error ? error.message : String(error) });
        else res.end();
      });
    },
    close: () => sampler.stop(),
  };
}

// The token is in the page's URL: no referrer may carry it away, no other origin may frame the page.
const SECURITY_HEADERS = {
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
};

function page(basePath: string, token: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>factum dashboard</title><base href="${basePath}/"></head>
<body><div id="app">Loading…</div><script type="module" src="assets/dashboard.js?token=${encodeURIComponent(token)}"></script></body></html>`;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  // Positions are bigints: JSON has no such type, the page reads them as strings.
  const json = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
  res.end(json);
}
