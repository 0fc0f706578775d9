// The alert rules and Grafana dashboard shipped in observability/: up to date with the metric
// definitions, parseable, and naming only metrics that exist.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OBSERVABILITY_FILES } from '../../scripts/observability-files.js';
import { metricDefinitions } from '../core/telemetry/metric-definitions.js';

/** Metric names in PromQL, with the series suffixes of a histogram taken off. */
const metricsNamed = (text: string): string[] => [...new Set((text.match(/factum_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, '')))];

describe('observability files', () => {
  for (const [path, make] of Object.entries(OBSERVABILITY_FILES)) {
    it(`${path} is what the definitions generate (npx tsx scripts/observability-files.ts)`, () => {
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(make());
    });
  }

  it('the alert rules name only defined metrics, each rule complete', () => {
    const known = new Set(metricDefinitions.map((m) => m.name));
    const { groups } = JSON.parse(readFileSync('observability/prometheus-rules.json', 'utf8')) as { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for: string; labels: { severity: string } }> }> };
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['FactumRunnerLagging', 'FactumRunnerStalled', 'FactumRunnerStopped', 'FactumConsistencyBreach', 'FactumDeadLetters']));
    for (const rule of rules) {
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      const named = metricsNamed(rule.expr);
      expect(named.length).toBeGreaterThan(0);
      for (const name of named) expect(known.has(name), `${rule.alert} names ${name}`).toBe(true);
    }
  });

  it('the Grafana dashboard has one panel per metric and queries only defined ones', () => {
    const known = new Set(metricDefinitions.map((m) => m.name));
    const dashboard = JSON.parse(readFileSync('observability/grafana-dashboard.json', 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    expect(dashboard.panels.map((p) => p.title).sort()).toEqual([...known].sort());
    for (const panel of dashboard.panels) {
      for (const name of metricsNamed(panel.targets.map((t) => t.expr).join(' '))) expect(known.has(name), `${panel.title} queries ${name}`).toBe(true);
    }
  });
});
