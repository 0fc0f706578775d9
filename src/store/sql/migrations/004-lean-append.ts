import type { Migration } from './migration.js';

/**
 * Appends write the log and nothing else, and take no lock of their own.
 *
 * Until this migration every append also inserted or updated a row of `streams` (one more heap
 * row and two index entries per new stream: the largest part of an append after the insert
 * itself). Now a stream's version is its last event in the (stream_id, stream_version) index,
 * and two appends that race for one version meet on that unique index (appends with `any` or
 * `stream_exists`, which cannot conflict, queue per stream instead). `streams` keeps only
 * what the log cannot tell: metadata, soft deletes (with the version at the time) and
 * tombstones. Deletes lock the log against writers, so no append runs beside them.
 *
 * Gap safety no longer needs a shared advisory lock per append: every writer of the log holds
 * a RowExclusiveLock on the events table from before its INSERT draws a position until it
 * ends, which is exactly what readers need to see (read-all-safety.ts). That lock is taken on
 * PostgreSQL's per-backend fast path, where the advisory lock went through the shared lock
 * table: with 16 writers on 2 cores it cost about 10% of append throughput.
 *
 * Stream ids sort bytewise ("C") so that a category is one range of the index (listStreams).
 * Events travel as one JSON array: no array literal to escape on the way in and parse on the
 * way out, and the data and metadata are parsed once, as jsonb.
 */
export const leanAppend: Migration = {
  version: 4,
  name: 'appends write only the log; streams keep metadata and deletions',
  sql: ({ s, appendLock: [, k2] }) => `
DROP FUNCTION ${s}append_events(text, text, text, bigint, uuid[], text[], text[], text[], integer[]);
ALTER TABLE ${s}events ALTER COLUMN stream_id TYPE text COLLATE "C";
ALTER TABLE ${s}streams ALTER COLUMN stream_id TYPE text COLLATE "C";
DELETE FROM ${s}streams WHERE NOT soft_deleted AND NOT tombstoned AND metadata = '{}';

-- The transactions that may still commit events: those holding a write lock on the log.
-- (Not ShareUpdateExclusiveLock: autovacuum and ANALYZE take it, and write no events.)
CREATE FUNCTION ${s}log_writers() RETURNS TABLE (pid integer, vxid text)
LANGUAGE sql STABLE AS $fn$
  SELECT l.pid, l.virtualtransaction FROM pg_locks l
   WHERE l.locktype = 'relation' AND l.relation = '${s}events'::regclass
     AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
$fn$;

-- What a reader of $all needs, in this order: the head first, then who may still commit
-- below it (see read-all-safety.ts). The rows are read by the next statement, under a later snapshot.
DROP FUNCTION ${s}read_all_state();
CREATE FUNCTION ${s}read_all_state(OUT head bigint, OUT appenders text[])
LANGUAGE plpgsql AS $fn$
BEGIN
  SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END INTO head FROM ${s}position_seq q;
  SELECT coalesce(array_agg(DISTINCT w.vxid), '{}') INTO appenders FROM ${s}log_writers() w;
END
$fn$;

-- Both functions answer with one text value, "<already 0|1> <last version> <recorded at, epoch
-- ms> <position>,<position>,...": PGlite spends about 10 microseconds per column of every
-- result row, more than the append itself costs beyond a plain INSERT.

-- What an earlier append of these same event ids wrote, if that append is this one (every id
-- at consecutive versions of this stream); NULL if the first id is not in the log; FX422 if
-- the ids are there in another arrangement.
CREATE FUNCTION ${s}appended_before(p_stream text, p_ids uuid[]) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  v_first bigint;
  v_found integer;
  v_exact boolean;
  v_result text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ${s}events e WHERE e.event_id = p_ids[1]) THEN RETURN NULL; END IF;
  SELECT min(e.stream_version - (i.ord - 1)), count(*) INTO v_first, v_found
    FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord) JOIN ${s}events e ON e.event_id = i.id;
  SELECT v_found = cardinality(p_ids) AND bool_and(e.stream_id = p_stream AND e.stream_version = v_first + i.ord - 1),
         '1 ' || max(e.stream_version) || ' ' || floor(extract(epoch FROM min(e.recorded_at)) * 1000)
           || ' ' || string_agg(e.global_position::text, ',' ORDER BY i.ord)
    INTO v_exact, v_result
    FROM unnest(p_ids) WITH ORDINALITY AS i(id, ord) JOIN ${s}events e ON e.event_id = i.id;
  IF NOT v_exact THEN
    RAISE EXCEPTION USING ERRCODE = 'FX422', MESSAGE = 'partial idempotent overlap',
      DETAIL = json_build_object('found', v_found, 'total', cardinality(p_ids))::text;
  END IF;
  RETURN v_result;
END
$fn$;

-- One round trip per append. p_events: [{"i": id, "t": type, "d": data, "m": metadata, "v": schema version}].
-- Errors carry a JSON detail: FX409 expected version conflict, FX410 tombstoned stream,
-- FX422 partial idempotent overlap. A lost race for a version is a unique violation (23505)
-- on (stream_id, stream_version), and a re-used event id one on event_id: the client sorts them out.
CREATE FUNCTION ${s}append_events(p_stream text, p_expected text, p_expected_version bigint, p_events jsonb, p_lock boolean, p_notify text)
RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_deleted boolean;
  v_tombstoned boolean;
  v_exists boolean;
  v_result text;
BEGIN
  -- PGlite is one session, so nothing can run beside an append: it passes false.
  IF p_lock THEN
    -- The write lock the INSERT would take anyway, taken before the stream's state is read, so
    -- that a delete (which locks writers out) cannot commit between that read and the insert.
    LOCK TABLE ${s}events IN ROW EXCLUSIVE MODE;
    -- Appends that cannot conflict queue per stream instead of racing for the next version
    -- (16 writers racing with 'any' starved each other).
    IF p_expected = 'any' OR p_expected = 'stream_exists' THEN
      PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, ${k2}));
    END IF;
  END IF;

  SELECT coalesce(st.soft_deleted, false), coalesce(st.tombstoned, false),
         GREATEST(coalesce(st.version, 0), coalesce((SELECT max(e.stream_version) FROM ${s}events e WHERE e.stream_id = p_stream), 0))
    INTO v_deleted, v_tombstoned, v_version
    FROM (SELECT 1) AS one LEFT JOIN ${s}streams st ON st.stream_id = p_stream;
  IF v_tombstoned THEN
    RAISE EXCEPTION USING ERRCODE = 'FX410', MESSAGE = 'stream tombstoned', DETAIL = json_build_object('stream', p_stream)::text;
  END IF;
  v_exists := v_version > 0 AND NOT v_deleted;

  IF NOT (p_expected = 'any'
       OR (p_expected = 'no_stream' AND NOT v_exists)
       OR (p_expected = 'stream_exists' AND v_exists)
       OR (p_expected = 'exact' AND p_expected_version = v_version)) THEN
    -- A retry of an append that went through is refused here (its events moved the version):
    -- answer it with the first result instead.
    v_result := ${s}appended_before(p_stream, ARRAY(SELECT (x.e->>'i')::uuid FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, ord) ORDER BY x.ord));
    IF v_result IS NOT NULL THEN RETURN v_result; END IF;
    RAISE EXCEPTION USING ERRCODE = 'FX409', MESSAGE = 'expected version conflict',
      DETAIL = json_build_object('version', v_version, 'exists', v_exists)::text;
  END IF;

  -- Appending to a soft-deleted stream brings it back; its versions continue.
  IF v_deleted THEN
    UPDATE ${s}streams SET soft_deleted = false WHERE stream_id = p_stream;
  END IF;

  IF jsonb_array_length(p_events) = 1 THEN
    -- The commonest append, without expanding the array and aggregating (8% of it on PGlite).
    INSERT INTO ${s}events AS e (global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version)
    VALUES (nextval('${s}position_seq'), (p_events->0->>'i')::uuid, p_stream, v_version + 1, p_events->0->>'t', p_events->0->'d', p_events->0->'m', (p_events->0->>'v')::integer)
    RETURNING '0 ' || (v_version + 1) || ' ' || floor(extract(epoch FROM now()) * 1000) || ' ' || e.global_position INTO v_result;
  ELSE
    -- Positions are drawn in event order within the statement, so ordering by them keeps it.
    WITH written AS (
      INSERT INTO ${s}events AS e (global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version)
      SELECT nextval('${s}position_seq'), (x.e->>'i')::uuid, p_stream, v_version + x.ord, x.e->>'t', x.e->'d', x.e->'m', (x.e->>'v')::integer
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, ord)
       ORDER BY x.ord
      RETURNING e.global_position
    )
    SELECT '0 ' || (v_version + count(*)) || ' ' || floor(extract(epoch FROM now()) * 1000)
           || ' ' || string_agg(w.global_position::text, ',' ORDER BY w.global_position)
      INTO v_result FROM written w;
  END IF;
  -- The wake-up for subscribers in other processes, delivered at commit (see wake-ups.ts).
  IF p_notify IS NOT NULL THEN
    PERFORM pg_notify(p_notify, NULL);
  END IF;
  RETURN v_result;
END
$fn$;
`,
};
