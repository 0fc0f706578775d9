import type { SqlNames } from '../sql-names.js';

/**
 * The commonest appends, one event, as one plain INSERT instead of a call of `append_events`:
 * $1 event id, $2 stream, $3 a version, $4 type, $5 data, $6 metadata, $7 schema version, and
 * with `notify` $8 the wake-up channel. Two forms:
 * - `at`: the stream must stand at version $3 (an exact expected version; 0 for no_stream);
 * - `next`: at the stream's next version, if it stands at $3 or later (0 for any, 1 for
 *   stream_exists).
 * It answers in `append_events`' format, or with no row when the index alone cannot tell that
 * the append is allowed (a deleted or tombstoned stream, or another version): the caller then
 * asks `append_events`, which knows every rule and gives the typed error.
 *
 * Why it is enough: versions of a stream are contiguous, so "event $3 exists" (or $3 = 0) and
 * the unique (stream_id, stream_version) index refusing a second version $3 + 1 together say
 * the stream stood at exactly $3. A lost race is the unique violation the caller already sorts
 * out (the next try goes to `append_events`, where appends with `any` queue per stream). The
 * INSERT's write lock on the log is taken when the statement is bound, before its snapshot is
 * taken, so a delete (which locks writers out) cannot commit between the checks and the
 * insert, and readers of `$all` see the writer before it draws a position.
 *
 * Why it pays: with 16 concurrent writers (pgbench, 16 clients), a plain INSERT into the same
 * table ran 19,500 appends/s, this form 17,000 (`at`) and 16,000 (`next`), `append_events` 13,000.
 */
export function singleEventAppendSql({ s }: SqlNames, form: 'at' | 'next', notify: boolean): string {
  const [version, from, check] =
    form === 'at'
      ? ['$3::bigint + 1', '', `($3::bigint = 0 OR EXISTS (SELECT 1 FROM ${s}events x WHERE x.stream_id = $2 AND x.stream_version = $3::bigint))`]
      : ['v.version + 1', `FROM (SELECT coalesce(max(x.stream_version), 0) AS version FROM ${s}events x WHERE x.stream_id = $2) AS v`, 'v.version >= $3::bigint'];
  return `
    INSERT INTO ${s}events AS e (global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version)
    SELECT nextval('${s}position_seq'), $1, $2, ${version}, $4, $5, $6, $7 ${from}
     WHERE ${check}
       AND NOT EXISTS (SELECT 1 FROM ${s}streams st WHERE st.stream_id = $2 AND (st.soft_deleted OR st.tombstoned))
    RETURNING '0 ' || e.stream_version || ' ' || floor(extract(epoch FROM e.recorded_at) * 1000) || ' ' || e.global_position AS r${notify ? ', pg_notify($8, NULL)' : ''}`;
}

/**
 * Many single-event appends to distinct streams in one INSERT (see append-batcher.ts): $1 a
 * JSON array of `{"s": stream, "f": "at" | "next", "n": version, "i": id, "t": type, "d": data,
 * "m": metadata, "v": schema version}`, each allowed by the rules of its form above, with
 * `notify` $2 the wake-up channel. One row per event written: its id, and its outcome in
 * `append_events`' format; an append without a row goes its own way. A row that meets a
 * unique index (a lost race, an event id already in the log: a retry) is skipped, not an
 * error, so that it cannot take the others' appends down with it.
 */
export function batchedAppendSql({ s }: SqlNames, notify: boolean): string {
  return `
    INSERT INTO ${s}events AS e (global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version)
    SELECT nextval('${s}position_seq'), (x.a->>'i')::uuid, x.a->>'s', c.version + 1, x.a->>'t', x.a->'d', x.a->'m', (x.a->>'v')::integer
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(a, ord)
     CROSS JOIN LATERAL (SELECT coalesce(max(v.stream_version), 0) AS version FROM ${s}events v WHERE v.stream_id = x.a->>'s') AS c
     WHERE CASE WHEN x.a->>'f' = 'at' THEN c.version = (x.a->>'n')::bigint ELSE c.version >= (x.a->>'n')::bigint END
       AND NOT EXISTS (SELECT 1 FROM ${s}streams st WHERE st.stream_id = x.a->>'s' AND (st.soft_deleted OR st.tombstoned))
     ORDER BY x.ord
        ON CONFLICT DO NOTHING
    RETURNING e.event_id::text AS id, '0 ' || e.stream_version || ' ' || floor(extract(epoch FROM e.recorded_at) * 1000) || ' ' || e.global_position AS r${notify ? ', pg_notify($2, NULL)' : ''}`;
}
