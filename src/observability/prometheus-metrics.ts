import type { IncomingMessage, ServerResponse } from 'node:http';
import { FactumError } from '../core/errors.js';
import { isObservedGaugePoint } from '../core/telemetry/instruments.js';
import { otel } from '../core/telemetry/otel-api.js';
import { loadDriver } from '../store/load-driver.js';

/** What `prometheusMetrics` returns: a `/metrics` handler to mount, and the text it serves. */
export interface PrometheusMetrics {
  /** Serves the Prometheus text exposition (content type `text/plain; version=0.0.4`); mount it on `GET /metrics`. */
  handler(request: IncomingMessage, response: ServerResponse): void;
  /** The exposition text now, for a server of the application's own (Express, Fastify, Hono). */
  text(): Promise<string>;
  /** Unregisters the meter provider it registered and stops recording. */
  shutdown(): Promise<void>;
}

/** Options of `prometheusMetrics`. */
export interface PrometheusMetricsOptions {
  /** Leave out `target_info` (the SDK's resource labels); true by default, as most scrapers label targets themselves. */
  withoutTargetInfo?: boolean;
}

/**
 * factum's metrics (`metricDefinitions`) as a Prometheus endpoint. It registers an OpenTelemetry
 * meter provider with a Prometheus reader as the global one, which is where factum records; an
 * application that already registered an SDK adds `@opentelemetry/exporter-prometheus`'s
 * `PrometheusExporter` to its own readers instead (then this refuses with `INVALID_ARGUMENT`).
 * Needs `@opentelemetry/api`, `@opentelemetry/sdk-metrics` and `@opentelemetry/exporter-prometheus`
 * (optional peers; `DRIVER_MISSING` names the one absent). Chosen over prom-client by
 * bench/prometheus-exporters.ts: prom-client records for less (2.0 µs against 5.4 µs per append),
 * but it cannot serve what was recorded through the OpenTelemetry API without a second
 * recording path, and 5 µs is under 1 % of an append to PostgreSQL.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { prometheusMetrics } from 'factum/prometheus'
 * const metrics = await prometheusMetrics()
 * createServer((req, res) => (req.url === '/metrics' ? metrics.handler(req, res) : res.writeHead(404).end())).listen(9464, '127.0.0.1')
 */
export async function prometheusMetrics(options: PrometheusMetricsOptions = {}): Promise<PrometheusMetrics> {
  const api = otel ?? (await loadDriver(() => import('@opentelemetry/api'), '@opentelemetry/api', 'The Prometheus endpoint'));
  const sdk = await loadDriver(() => import('@opentelemetry/sdk-metrics'), '@opentelemetry/sdk-metrics', 'The Prometheus endpoint');
  const prometheus = await loadDriver(() => import('@opentelemetry/exporter-prometheus'), '@opentelemetry/exporter-prometheus', 'The Prometheus endpoint');
  const exporter = new prometheus.PrometheusExporter({ preventServerStart: true, withoutTargetInfo: options.withoutTargetInfo ?? true });
  const provider = new sdk.MeterProvider({ readers: [exporter] });
  if (!api.metrics.setGlobalMeterProvider(provider)) {
    await provider.shutdown();
    throw new FactumError('INVALID_ARGUMENT', 'A global OpenTelemetry meter provider is registered already: add a PrometheusExporter from @opentelemetry/exporter-prometheus to its readers instead of calling prometheusMetrics()');
  }
  const serializer = new prometheus.PrometheusSerializer(undefined, false, undefined, options.withoutTargetInfo ?? true);
  const text = async (): Promise<string> => {
    const { resourceMetrics, errors } = await exporter.collect();
    if (errors.length > 0) throw new FactumError('INVALID_ARGUMENT', `Collecting the metrics failed: ${String(errors[0])}`, { cause: errors[0] });
    // A stopped runner's gauges would stay on the page at their last value (the SDK keeps them).
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        (metric as { dataPoints: unknown[] }).dataPoints = metric.dataPoints.filter((point) => isObservedGaugePoint(metric.descriptor.name, point.attributes));
      }
    }
    return serializer.serialize(resourceMetrics);
  };
  return {
    handler: (_request, response) => {
      text().then(
        (body) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`# failed to collect the metrics: ${String(error)}\n`),
      );
    },
    text,
    async shutdown() {
      api.metrics.disable();
      await provider.shutdown();
    },
  };
}
