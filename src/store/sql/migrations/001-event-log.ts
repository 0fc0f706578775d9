import type { Migration } from './migration.js';

/**
 * The log. `global_position` comes from a sequence, so commits land out of order; appends
 * took a shared advisory lock before drawing from it, which is what let readers of `$all`
 * prove a hole can no longer be filled. Migration 4 (004-lean-append.ts) replaced the
 * append function and that lock; released migrations are never edited.
 */
export const eventLog: Migration = {
  version: 1,
  name: 'event log, streams and the append function',
  sql: ({ s, appendLock: [k1, k2] }) => `
CREATE SEQUENCE ${s}position_seq AS bigint;

CREATE TABLE ${s}streams (
  stream_id    text PRIMARY KEY,
  category     text NOT NULL,
  version      bigint NOT NULL DEFAULT 0,
  soft_deleted boolean NOT NULL DEFAULT false,
  tombstoned   boolean NOT NULL DEFAULT false,
  metadata     jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX streams_category_idx ON ${s}streams (category, stream_id);

CREATE TABLE ${s}events (
  global_position bigint PRIMARY KEY,
  event_id        uuid NOT NULL UNIQUE,
  stream_id       text NOT NULL,
  stream_version  bigint NOT NULL,
  event_type      text NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL,
  schema_version  integer NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, stream_version)
);

-- One round trip per append: lock, checks, insert. Errors carry a JSON detail:
-- FX409 expected version conflict, FX410 tombstoned stream, FX422 partial idempotent overlap.
CREATE FUNCTION ${s}append_events(
  p_stream text, p_category text, p_expected text, p_expected_version bigint,
  p_ids uuid[], p_types text[], p_data text[], p_metadata text[], p_schema_versions integer[]
) RETURNS TABLE (global_position bigint, stream_version bigint, recorded_at timestamptz, already boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_deleted boolean;
  v_tombstoned boolean;
  v_new boolean;
  v_exists boolean;
  v_count integer := cardinality(p_ids);
  v_first bigint;
  v_exact boolean;
BEGIN
  -- Taken before any position is drawn; readers of $all look for holders of this lock.
  PERFORM pg_advisory_xact_lock_shared(${k1}, ${k2});
  LOOP
    SELECT s.version, s.soft_deleted, s.tombstoned INTO v_version, v_deleted, v_tombstoned
      FROM ${s}streams s WHERE s.stream_id = p_stream FOR UPDATE;
    v_new := NOT FOUND;
    IF v_new THEN v_version := 0; v_deleted := true; v_tombstoned := false; END IF;
    IF v_tombstoned THEN
      RAISE EXCEPTION USING ERRCODE = 'FX410', MESSAGE = 'stream tombstoned', DETAIL = json_build_object('stream', p_stream)::text;
    END IF;
    v_exists := NOT v_deleted;

    -- Idempotent retry: every id already stands at consecutive versions of this stream.
    -- Probing the first id is enough: a retry starts with it, and any other id already in the
    -- log fails the insert on UNIQUE (event_id), which the client reports as a partial overlap.
    -- ("= ANY(p_ids)" got a generic plan that scanned the whole table on every append.)
    IF EXISTS (SELECT 1 FROM ${s}events e WHERE e.event_id = p_ids[1]) THEN
      SELECT min(e.stream_version - (i.ord - 1)), count(*) INTO v_first, v_count
        FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord) JOIN ${s}events e ON e.event_id = i.id;
      SELECT count(*) = cardinality(p_ids) AND bool_and(e.stream_id = p_stream AND e.stream_version = v_first + i.ord - 1)
        INTO v_exact
        FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord) JOIN ${s}events e ON e.event_id = i.id;
      IF NOT v_exact THEN
        RAISE EXCEPTION USING ERRCODE = 'FX422', MESSAGE = 'partial idempotent overlap',
          DETAIL = json_build_object('found', v_count, 'total', cardinality(p_ids))::text;
      END IF;
      RETURN QUERY SELECT e.global_position, e.stream_version, e.recorded_at, true
        FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord) JOIN ${s}events e ON e.event_id = i.id ORDER BY i.ord;
      RETURN;
    END IF;

    IF NOT (p_expected = 'any'
         OR (p_expected = 'no_stream' AND NOT v_exists)
         OR (p_expected = 'stream_exists' AND v_exists)
         OR (p_expected = 'exact' AND p_expected_version = v_version)) THEN
      RAISE EXCEPTION USING ERRCODE = 'FX409', MESSAGE = 'expected version conflict',
        DETAIL = json_build_object('version', v_version, 'exists', v_exists)::text;
    END IF;

    IF v_new THEN
      INSERT INTO ${s}streams (stream_id, category, version) VALUES (p_stream, p_category, v_count)
        ON CONFLICT DO NOTHING;
      -- Lost the race to create the stream: the winner has committed; check again against it.
      CONTINUE WHEN NOT FOUND;
    ELSE
      UPDATE ${s}streams SET version = v_version + v_count, soft_deleted = false WHERE stream_id = p_stream;
    END IF;

    RETURN QUERY
      INSERT INTO ${s}events AS e (global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version)
      SELECT nextval('${s}position_seq'), i.id, p_stream, v_version + i.ord, i.t, i.d::jsonb, i.m::jsonb, i.v
        FROM unnest(p_ids, p_types, p_data, p_metadata, p_schema_versions) WITH ORDINALITY AS i(id, t, d, m, v, ord)
        ORDER BY i.ord
      RETURNING e.global_position, e.stream_version, e.recorded_at, false;
    RETURN;
  END LOOP;
END
$fn$;

-- What a reader of $all needs, in this order: the head first, then who may still commit
-- below it. The rows are read by the next statement, under a later snapshot.
CREATE FUNCTION ${s}read_all_state(OUT head bigint, OUT appenders text[])
LANGUAGE plpgsql AS $fn$
BEGIN
  SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END INTO head FROM ${s}position_seq q;
  SELECT coalesce(array_agg(l.virtualtransaction), '{}') INTO appenders FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.classid = ${k1 >>> 0}::oid AND l.objid = ${k2 >>> 0}::oid AND l.objsubid = 2
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
END
$fn$;
`,
};
