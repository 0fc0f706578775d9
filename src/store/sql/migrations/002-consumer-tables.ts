import type { Migration } from './migration.js';

/**
 * Tables of the consumers (src/consumers) and projections (src/projections):
 * - checkpoints, written with compare-and-set (`generation` changes only when a rebuild swaps a
 *   read model, so a runner can tell a swap from a competing instance);
 * - dead letters and the events parked behind them (sequenced per stream);
 * - the inbox (consumer, message id), written in the transaction of the effect;
 * - partition leases and the members that share them.
 * The wake-up NOTIFY on `appendChannel` (sql-names.ts) is sent by the appending store after its
 * commit, not by a trigger: a NOTIFY inside the append would serialise every commit on
 * PostgreSQL's notify queue lock.
 */
export const consumerTables: Migration = {
  version: 2,
  name: 'checkpoints, dead letters, inbox and partition leases',
  sql: (n) => `
CREATE TABLE ${n.s}checkpoints (
  name        text PRIMARY KEY,
  position    bigint NOT NULL,
  generation  integer NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ${n.s}dead_letters (
  id               bigserial PRIMARY KEY,
  subscription     text NOT NULL,
  status           text NOT NULL CHECK (status IN ('dead', 'parked')),
  stream_id        text NOT NULL,
  global_position  bigint NOT NULL,
  event_id         text NOT NULL,
  event_type       text NOT NULL,
  event            jsonb NOT NULL,
  error            text,
  attempts         integer NOT NULL DEFAULT 0,
  first_failed_at  timestamptz,
  last_failed_at   timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subscription, event_id)
);
CREATE INDEX dead_letters_stream_idx ON ${n.s}dead_letters (subscription, stream_id, global_position);

CREATE TABLE ${n.s}inbox (
  consumer      text NOT NULL,
  message_id    text NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

CREATE TABLE ${n.s}partition_leases (
  subscription  text NOT NULL,
  partition     integer NOT NULL,
  owner         text,
  expires_at    timestamptz NOT NULL DEFAULT '-infinity',
  PRIMARY KEY (subscription, partition)
);

CREATE TABLE ${n.s}consumer_members (
  subscription  text NOT NULL,
  owner         text NOT NULL,
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (subscription, owner)
);

`,
};
