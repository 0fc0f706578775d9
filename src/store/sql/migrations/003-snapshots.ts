import type { Migration } from './migration.js';

/**
 * Snapshots of folded stream state, beside the log (see src/domain/snapshots). One row per
 * stream, snapshot name and snapshot version: deployments with different state shapes keep
 * their own snapshot during a rolling deploy instead of overwriting each other's.
 * `from_version` is the first stream version folded into the state, so a snapshot taken before
 * a soft delete (which moves truncate-before) is not used after it.
 */
export const snapshotTable: Migration = {
  version: 3,
  name: 'snapshots',
  sql: ({ s }) => `
CREATE TABLE ${s}snapshots (
  stream_id        text NOT NULL,
  name             text NOT NULL,
  snapshot_version integer NOT NULL,
  stream_version   bigint NOT NULL,
  from_version     bigint NOT NULL,
  state            jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, name, snapshot_version)
);
`,
};
