/**
 * `npx tsx scripts/observability-files.ts`: writes the files shipped in `observability/` from the
 * metric definitions: Prometheus alert rules (JSON, which Prometheus reads as YAML) and a Grafana
 * dashboard. src/observability/observability-files.test.ts fails when they are out of date.
 */
import { writeFileSync } from 'node:fs';
import { alertRules, grafanaDashboard } from '../src/index.js';

export const OBSERVABILITY_FILES = {
  'observability/prometheus-rules.json': () => ({ groups: [alertRules()] }),
  'observability/grafana-dashboard.json': () => grafanaDashboard(),
};

if (process.argv[1]?.endsWith('observability-files.ts')) {
  for (const [path, make] of Object.entries(OBSERVABILITY_FILES)) {
    writeFileSync(path, `${JSON.stringify(make(), null, 2)}\n`);
    console.log(`wrote ${path}`);
  }
}
