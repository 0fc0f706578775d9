import type { Migration } from './migration.js';

/**
 * Tables of the workflows (src/sagas), beside their logs:
 * - durable timers, one row per pending (workflow, instance, timer), inserted in the transaction
 *   that appends the schedule to the log and deleted in the one that appends the firing; the
 *   due-time index lets a timer service ask for the earliest due one instead of polling each;
 * - instances with their status and log version, written with each log append, so operators
 *   can list them by status without folding every log.
 */
export const workflowTables: Migration = {
  version: 6,
  name: 'workflow instances and durable timers',
  sql: (n) => `
CREATE TABLE ${n.s}workflow_instances (
  workflow     text NOT NULL,
  instance_id  text NOT NULL,
  status       text NOT NULL CHECK (status IN ('running', 'completed')),
  version      integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workflow, instance_id)
);
CREATE INDEX workflow_instances_status_idx ON ${n.s}workflow_instances (workflow, status, updated_at);

CREATE TABLE ${n.s}workflow_timers (
  workflow      text NOT NULL,
  instance_id   text NOT NULL,
  timer         text NOT NULL,
  due_at        timestamptz NOT NULL,
  fire_id       text NOT NULL,
  payload       jsonb,
  scheduled_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workflow, instance_id, timer)
);
CREATE INDEX workflow_timers_due_idx ON ${n.s}workflow_timers (workflow, due_at);
`,
};
