import type { Migration } from './migration.js';

/**
 * Dead letters that say more: `retrying` marks an event whose retries are under way (its stream
 * waits behind it, durably, while the checkpoint moves on past it for the other streams), and a
 * failure keeps its message, its code and its stack apart.
 */
export const consumerFailureDetails: Migration = {
  version: 5,
  name: 'dead letters: retrying status, error code and stack',
  sql: (n) => `
ALTER TABLE ${n.s}dead_letters DROP CONSTRAINT dead_letters_status_check;
ALTER TABLE ${n.s}dead_letters ADD CONSTRAINT dead_letters_status_check CHECK (status IN ('dead', 'parked', 'retrying'));
ALTER TABLE ${n.s}dead_letters ADD COLUMN error_code text;
ALTER TABLE ${n.s}dead_letters ADD COLUMN error_stack text;
`,
};
