import type { Migration } from './migration.js';

/**
 * What runners without a checkpoint report of themselves: a broker consumer's position and lag
 * live in the broker, which an operator's CLI or dashboard cannot reach, so the running consumer
 * writes what it read there, every few seconds, and the operating tools read it here. One row per
 * runner name, written by whichever of its processes reported last (`owner`).
 */
export const runnerReports: Migration = {
  version: 10,
  name: 'runner reports for runners without a checkpoint',
  sql: (n) => `
CREATE TABLE ${n.s}runner_reports (
  name           text PRIMARY KEY,
  kind           text NOT NULL,
  owner          text NOT NULL,
  state          text NOT NULL,
  lag_events     bigint NOT NULL,
  lag_seconds    double precision NOT NULL,
  settled        bigint NOT NULL,
  details        jsonb NOT NULL DEFAULT '{}'::jsonb,
  reported_at    timestamptz NOT NULL DEFAULT now()
);
`,
};
