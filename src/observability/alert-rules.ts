import { FactumError } from '../core/errors.js';
import { metricDefinitions } from '../core/telemetry/metric-definitions.js';

/** One Prometheus alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string };
}

/** Refuses a rule that names a metric missing from the definitions: generated rules cannot drift. */
function metric(name: string): string {
  if (!metricDefinitions.some((m) => m.name === name)) throw new FactumError('INVALID_ARGUMENT', `An alert rule names the unknown metric ${name}`);
  return name;
}

/**
 * Prometheus alerting rules for factum's metrics, as a rule group (serialise to YAML or JSON).
 *
 * @example
 * import { alertRules } from 'factum';
 * writeFileSync('factum-rules.json', JSON.stringify({ groups: [alertRules()] }, null, 2));
 */
export function alertRules(): { name: string; rules: AlertRule[] } {
  return {
    name: 'factum',
    rules: [
      {
        alert: 'FactumRunnerLagging',
        expr: `max by (runner, kind) (${metric('factum_lag_seconds')}) > 60`,
        for: '5m',
        labels: { severity: 'warning' },
        annotations: { summary: 'Runner {{ $labels.runner }} is more than 60 s behind the log.' },
      },
      {
        alert: 'FactumDeadLetters',
        expr: `increase(${metric('factum_dead_letters_total')}[10m]) > 0`,
        for: '0m',
        labels: { severity: 'warning' },
        annotations: { summary: 'Runner {{ $labels.runner }} parked dead letters.' },
      },
      {
        alert: 'FactumRunnerStalled',
        expr: `max by (runner) (${metric('factum_consistency_state')}{state="stalled"}) == 1`,
        for: '2m',
        labels: { severity: 'critical' },
        annotations: { summary: 'Runner {{ $labels.runner }} makes no progress while events wait for it.' },
      },
      {
        alert: 'FactumRunnerStopped',
        expr: `max by (runner) (${metric('factum_consistency_state')}{state="stopped"}) == 1`,
        for: '1m',
        labels: { severity: 'critical' },
        annotations: { summary: 'Runner {{ $labels.runner }} has not checkpointed for longer than its window.' },
      },
      {
        alert: 'FactumConsistencyBreach',
        expr: `increase(${metric('factum_consistency_breaches_total')}[5m]) > 0`,
        for: '0m',
        labels: { severity: 'critical' },
        annotations: { summary: 'Runner {{ $labels.runner }} left its consistency bound.' },
      },
    ],
  };
}
