import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a `/metrics` endpoint renders: `prometheusMetrics()` of `factum/prometheus`, or the CLI's. */
export interface MetricsSource {
  text(): Promise<string>;
}

/** The Prometheus text exposition format's content type (version 0.0.4). */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Answers a `/metrics` request of the dashboard or of `factum serve`: 401 (with a `Bearer`
 * challenge) unless `authorized`, 404 without a source, else the Prometheus text. The token goes
 * in a header, never the URL: scrape targets are listed on Prometheus's pages and in logs.
 *
 * @example
 * if (req.url === '/metrics') return serveMetrics(req, res, matches(headerToken(req)), metrics, 'the token in $FACTUM_METRICS_TOKEN')
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, authorized: boolean, metrics: MetricsSource | undefined, tokenName: string): Promise<void> {
  const json = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify({ code, message }));
  };
  if (!authorized) return json(401, 'UNAUTHORIZED', `/metrics needs ${tokenName} as a bearer token (Authorization: Bearer <token>)`, { 'www-authenticate': 'Bearer realm="factum"' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, 'INVALID_ARGUMENT', '/metrics is read with GET');
  if (!metrics) return json(404, 'NOT_FOUND', 'No metrics are served here: pass createDashboard({ metrics: await prometheusMetrics() }) (factum/prometheus)');
  const text = await metrics.text();
  res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}
