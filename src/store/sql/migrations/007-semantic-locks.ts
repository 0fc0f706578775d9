import type { Migration } from './migration.js';

/**
 * Semantic locks of the workflows (src/sagas), beside their logs: one row per instance holding a
 * resource ("order 42 pending payment") or waiting in line for it, written in the transaction
 * that appends the acquisition or release to the instance's log. At most one holder per resource
 * (the partial unique index); a competitor's insert waits for the holder's transaction, so two
 * instances never both hold one. `expires_after_ms` is kept for the waiter, whose hold is timed
 * from the moment it is handed the lock. Instances gain the workflow's own finer status (a saga's
 * `compensating`), so operators list them by it.
 */
export const semanticLocks: Migration = {
  version: 7,
  name: 'semantic locks and workflow phases',
  sql: (n) => `
CREATE TABLE ${n.s}workflow_locks (
  resource          text NOT NULL,
  workflow          text NOT NULL,
  instance_id       text NOT NULL,
  state             text NOT NULL CHECK (state IN ('held', 'queued')),
  since             timestamptz NOT NULL,
  expires_at        timestamptz,
  expires_after_ms  bigint,
  PRIMARY KEY (resource, workflow, instance_id)
);
CREATE UNIQUE INDEX workflow_locks_holder_idx ON ${n.s}workflow_locks (resource) WHERE state = 'held';
CREATE INDEX workflow_locks_instance_idx ON ${n.s}workflow_locks (workflow, instance_id);

ALTER TABLE ${n.s}workflow_instances ADD COLUMN phase text;
CREATE INDEX workflow_instances_phase_idx ON ${n.s}workflow_instances (workflow, phase, updated_at);
`,
};
