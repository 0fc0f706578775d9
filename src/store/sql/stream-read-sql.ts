import { EVENT_COLUMNS } from './event-columns.js';
import type { SqlNames } from './sql-names.js';

/**
 * One page of a stream, to read with `EVENT_PARSERS`: parameters ($1 stream, $2 lowest version, $3 highest version, $4 asOf
 * or NULL, $5 limit). The visibility rules (truncate-before, max count, max age) become bounds
 * computed from the stream's settings row, if any, as scalar subqueries, so that the versions
 * asked for stay plain bounds of the (stream_id, stream_version) index scan even in a generic
 * plan, which a prepared statement caches after a few calls. (An earlier form took the lower
 * bound from a join, and its generic plan read a 100,000-event stream from version 1 to return
 * the 99 events after a snapshot; stream-read-plan.int.test.ts holds the plan to its shape.)
 */
export function streamReadSql({ s }: SqlNames, direction: 'forward' | 'backward'): string {
  return `
      SELECT ${EVENT_COLUMNS} FROM ${s}events e
       WHERE e.stream_id = $1 AND e.stream_version BETWEEN $2 AND $3
         AND e.stream_version >= coalesce((
               SELECT GREATEST(coalesce((st.metadata->>'truncateBefore')::bigint, 1),
                               (SELECT max(x.stream_version) FROM ${s}events x WHERE x.stream_id = $1) - (st.metadata->>'maxCount')::bigint + 1)
                 FROM ${s}streams st WHERE st.stream_id = $1), 1)
         AND e.recorded_at >= coalesce((
               SELECT now() - make_interval(secs => (st.metadata->>'maxAgeSeconds')::float8)
                 FROM ${s}streams st WHERE st.stream_id = $1), '-infinity')
         AND ($4::timestamptz IS NULL OR e.recorded_at <= $4)
       ORDER BY e.stream_version ${direction === 'forward' ? 'ASC' : 'DESC'} LIMIT $5`;
}
