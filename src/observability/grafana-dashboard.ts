import { metricDefinitions, type MetricDefinition } from '../core/telemetry/metric-definitions.js';

/** One panel's query: PromQL with the legend Grafana shows for each series. */
interface PanelQuery {
  expr: string;
  legendFormat: string;
}

/** The query that shows a metric best: rates for counters, p99 for histograms, the value for gauges. */
function queryOf(metric: MetricDefinition): PanelQuery {
  const by = metric.labels.join(', ');
  const legend = metric.labels.map((l) => `{{${l}}}`).join(' ');
  if (metric.kind === 'counter') return { expr: `sum by (${by}) (rate(${metric.name}[$__rate_interval]))`, legendFormat: legend };
  if (metric.kind === 'histogram') return { expr: `histogram_quantile(0.99, sum by (le, ${by}) (rate(${metric.name}_bucket[$__rate_interval])))`, legendFormat: `p99 ${legend}` };
  if (metric.name === 'factum_consistency_state') return { expr: `max by (runner, state) (${metric.name}) == 1`, legendFormat: '{{runner}} {{state}}' };
  return { expr: `max by (${by}) (${metric.name})`, legendFormat: legend };
}

/** The unit Grafana formats a panel's axis with. */
function grafanaUnit(metric: MetricDefinition): string {
  if (metric.unit === 's') return 's';
  return metric.kind === 'counter' ? 'ops' : 'short';
}

/**
 * A Grafana dashboard (JSON model, schema 39) with one time-series panel per metric of
 * `metricDefinitions`, over a Prometheus data source chosen when it is imported. Generated
 * from the same list as the metrics and the alert rules, so it cannot name a metric that does
 * not exist.
 *
 * @example
 * import { grafanaDashboard } from 'factum'
 * writeFileSync('factum-dashboard.json', JSON.stringify(grafanaDashboard(), null, 2))
 */
export function grafanaDashboard(): Record<string, unknown> {
  const panels = metricDefinitions.map((metric, i) => {
    const query = queryOf(metric);
    return {
      id: i + 1,
      type: 'timeseries',
      title: metric.name,
      description: metric.description,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: grafanaUnit(metric) }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: [{ refId: 'A', datasource: { type: 'prometheus', uid: '${datasource}' }, expr: query.expr, legendFormat: query.legendFormat }],
    };
  });
  return {
    title: 'factum',
    uid: 'factum',
    tags: ['factum', 'event-sourcing'],
    timezone: 'browser',
    schemaVersion: 39,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }] },
    panels,
  };
}
