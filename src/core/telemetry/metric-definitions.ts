/** The kind of OpenTelemetry instrument a metric is recorded with. */
export type MetricKind = 'counter' | 'histogram' | 'gauge';

/** One metric factum records: the single source for instruments, the README table and alert rules. */
export interface MetricDefinition {
  /** Prometheus-style name in base units; counters end in `_total`. */
  name: string;
  kind: MetricKind;
  /** UCUM unit as OpenTelemetry expects it (`s`, `{event}`, `1`). */
  unit: string;
  /** Low-cardinality label names only (never ids or positions). */
  labels: readonly string[];
  description: string;
}

/**
 * Every metric factum defines. Code, docs and generated alert rules read this list, so a metric
 * cannot exist in one place and be missing from another.
 *
 * @example
 * import { metricDefinitions } from 'factum';
 * for (const m of metricDefinitions) console.log(m.name, m.unit, m.labels.join(','));
 */
export const metricDefinitions: readonly MetricDefinition[] = [
  { name: 'factum_events_appended_total', kind: 'counter', unit: '{event}', labels: ['category'], description: 'Events appended to the store.' },
  { name: 'factum_append_duration_seconds', kind: 'histogram', unit: 's', labels: ['category', 'outcome'], description: 'Time to append one batch to the store.' },
  { name: 'factum_handler_duration_seconds', kind: 'histogram', unit: 's', labels: ['runner', 'outcome'], description: 'Time a handler took for one event or batch.' },
  { name: 'factum_lag_events', kind: 'gauge', unit: '{event}', labels: ['runner', 'kind'], description: 'Events between the head of the log and a runner position.' },
  { name: 'factum_lag_seconds', kind: 'gauge', unit: 's', labels: ['runner', 'kind'], description: 'Age of the oldest event a runner has not yet handled.' },
  { name: 'factum_dead_letters_total', kind: 'counter', unit: '{message}', labels: ['runner', 'kind'], description: 'Messages or events parked as dead letters.' },
  { name: 'factum_relay_published_total', kind: 'counter', unit: '{message}', labels: ['relay', 'outcome'], description: 'Messages the outbox relay published to the broker.' },
  { name: 'factum_relay_confirm_duration_seconds', kind: 'histogram', unit: 's', labels: ['relay'], description: 'Time from publish until the broker confirmed it.' },
  { name: 'factum_saga_timer_lateness_seconds', kind: 'histogram', unit: 's', labels: ['saga'], description: 'How late a saga timer fired after its due time.' },
  { name: 'factum_consistency_state', kind: 'gauge', unit: '1', labels: ['runner', 'state'], description: 'Consistency monitor state: 1 for the current state of a runner.' },
  { name: 'factum_consistency_breaches_total', kind: 'counter', unit: '{breach}', labels: ['runner'], description: 'Times a runner left its consistency bound.' },
];
