import { describe, expect, it } from 'vitest';
import { alertRules } from './alert-rules.js';
import { metricDefinitions } from '../core/telemetry/metric-definitions.js';

describe('alertRules', () => {
  it('names only defined metrics', () => {
    const known = new Set(metricDefinitions.map((m) => m.name));
    const rules = alertRules().rules;
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      const named = r.expr.match(/factum_[a-z_]+/g) ?? [];
      expect(named.length).toBeGreaterThan(0);
      for (const n of named) expect(known.has(n)).toBe(true);
    }
  });
});
