// `factum/prometheus`: factum's metrics as a Prometheus `/metrics` endpoint, through the
// OpenTelemetry SDK (`@opentelemetry/sdk-metrics` and `@opentelemetry/exporter-prometheus`, optional peers).
export { prometheusMetrics, type PrometheusMetrics, type PrometheusMetricsOptions } from './observability/prometheus-metrics.js';
