import { describe, expect, it } from 'vitest';
import { metricDefinitions } from './metric-definitions.js';

describe('metricDefinitions', () => {
  it('has unique names', () => {
    const names = metricDefinitions.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('names counters with _total and durations in seconds', () => {
    for (const m of metricDefinitions) {
      expect(m.name.endsWith('_total')).toBe(m.kind === 'counter');
      if (m.name.endsWith('_seconds')) expect(m.unit).toBe('s');
    }
  });
});
