import type { Migration } from './migration.js';

/**
 * Requests for the owner of a dead letter: a retry needs the runner's handler, which lives in
 * the process that runs it, so an operator (the CLI, the standalone dashboard) writes the request
 * here and that process carries it out on its next poll and records the outcome in the row.
 * A skip needs no handler and is done by the operator at once; its row only tells the owner to
 * let the events parked behind the skipped one flow (and to forget the stream it had cached as
 * blocked). `pending` rows are what owners look for: hence the partial index.
 */
export const deadLetterRequests: Migration = {
  version: 9,
  name: 'dead-letter requests for the running owner',
  sql: (n) => `
CREATE TABLE ${n.s}dead_letter_requests (
  id              bigserial PRIMARY KEY,
  subscription    text NOT NULL,
  dead_letter_id  bigint NOT NULL,
  stream_id       text NOT NULL,
  event_id        text NOT NULL,
  action          text NOT NULL CHECK (action IN ('retry', 'skip')),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
  requested_at    timestamptz NOT NULL DEFAULT now(),
  claimed_by      text,
  claimed_at      timestamptz,
  done_at         timestamptz,
  handled         integer,
  remaining       integer,
  error           text,
  error_code      text
);
CREATE INDEX dead_letter_requests_pending_idx ON ${n.s}dead_letter_requests (subscription, id) WHERE status = 'pending';
`,
};
