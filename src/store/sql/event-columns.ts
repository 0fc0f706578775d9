import type { TypeParsers } from './sql-client.js';
import { parseTimestamptz } from './parse-timestamptz.js';

/**
 * The columns of the events table (aliased `e`) as a `RecordedEvent`, for SELECTs read with
 * `EVENT_PARSERS`: the driver's row is then the event itself, with no second object per event
 * to build (reading `$all`, building one cost about a tenth of the time, most of it in the
 * garbage collector). The position travels as numeric so that it alone becomes a BigInt, and
 * versions, int8 in the table, become numbers.
 */
export const EVENT_COLUMNS = `e.event_id AS id, e.event_type AS type, e.data, e.metadata, e.schema_version AS "schemaVersion",
  e.stream_id AS "streamId", e.stream_version AS "streamVersion", e.global_position::numeric AS "globalPosition", e.recorded_at AS "recordedAt"`;

/** Type OIDs of the columns above. */
const TEXT = 25;
const UUID = 2950;
const INT4 = 23;
const INT8 = 20;
const NUMERIC = 1700;
const JSONB = 3802;
const TIMESTAMPTZ = 1184;

/** How `EVENT_COLUMNS` become a `RecordedEvent`, whatever parsers the driver has installed. */
export const EVENT_PARSERS: TypeParsers = {
  [TEXT]: (text) => text,
  [UUID]: (text) => text,
  [INT4]: Number,
  [INT8]: Number,
  [NUMERIC]: BigInt,
  [JSONB]: JSON.parse,
  [TIMESTAMPTZ]: parseTimestamptz,
};

/** No parsers: every column as text (on PostgreSQL; PGlite may give numbers), whatever the process installed in pg. */
export const AS_TEXT: TypeParsers = {};
