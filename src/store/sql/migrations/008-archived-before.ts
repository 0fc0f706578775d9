import type { Migration } from './migration.js';

/**
 * Retention with archival (src/store/archive): the versions of a stream below `archived_before`
 * were written to an archive and then physically deleted from the log. Stream reads that reach
 * below it fail with `EVENTS_ARCHIVED` instead of returning a shorter history; a restore in
 * place lowers it again. 1 (the default) means nothing is archived. The stream's last event
 * always stays in the log, so its version, read from the log as before, never goes back.
 */
export const archivedBefore: Migration = {
  version: 8,
  name: 'streams: versions archived before',
  sql: ({ s }) => `
ALTER TABLE ${s}streams ADD COLUMN archived_before bigint NOT NULL DEFAULT 1;
`,
};
