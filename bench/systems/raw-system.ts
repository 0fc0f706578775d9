import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { PGlite } from '@electric-sql/pglite';
import type { BenchEvent } from '../bench-event.js';
import type { BenchSystem, ExpectedAppend, ImportBatch } from './bench-system.js';

type Query = (sql: string, params?: unknown[]) => Promise<{ rows: any[] }>;

/**
 * The table factum's log would be without factum: the same columns and the same unique
 * constraints (PRIMARY KEY global_position from a sequence, UNIQUE event_id, UNIQUE
 * (stream_id, stream_version)), so an INSERT gets the same guarantees the least work can give.
 */
const rawTable = (schema: string) => `
CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE SEQUENCE IF NOT EXISTS ${schema}.position_seq AS bigint;
CREATE TABLE IF NOT EXISTS ${schema}.events (
  global_position bigint PRIMARY KEY DEFAULT nextval('${schema}.position_seq'),
  event_id        uuid NOT NULL UNIQUE,
  stream_id       text NOT NULL,
  stream_version  bigint NOT NULL,
  event_type      text NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL,
  schema_version  integer NOT NULL DEFAULT 1,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, stream_version)
)`;
export const RAW_TABLE = rawTable('raw');

const COLUMNS = 'global_position, event_id, stream_id, stream_version, event_type, data, metadata, schema_version, recorded_at';

/**
 * The raw driver: plain INSERT and SELECT on the equivalent table (and COPY on PostgreSQL).
 * `raw` sends its statements as `pool.query(text, values)` does, parsed and planned by the
 * server on every call; `raw-prepared` (PostgreSQL only) as named prepared statements, as
 * factum does, to show what that alone is worth.
 */
export class RawSystem implements BenchSystem {
  readonly label: string;
  readonly cannot: BenchSystem['cannot'];
  private readonly insertOneSql: string;
  private readonly insertManySql: string;

  private constructor(
    readonly name: 'raw' | 'raw-prepared',
    readonly backend: 'postgres' | 'pglite',
    private readonly schema: string,
    private readonly query: Query,
    private readonly pool?: pg.Pool,
  ) {
    this.label = `${name}/${backend}`;
    this.cannot = !pool ? { bulkImport: 'bulk import is measured on PostgreSQL only' }
      : name === 'raw' ? {} : { bulkImport: 'COPY has no statement to prepare: see raw' };
    this.insertOneSql = `INSERT INTO ${schema}.events (event_id, stream_id, stream_version, event_type, data, metadata)
      VALUES ($1, $2, $3, $4, $5, $6) RETURNING global_position`;
    this.insertManySql = `INSERT INTO ${schema}.events (event_id, stream_id, stream_version, event_type, data, metadata)
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::jsonb[]) RETURNING global_position`;
  }

  static async postgres(pool: pg.Pool, prepared = false): Promise<RawSystem> {
    const schema = prepared ? 'raw_prepared' : 'raw';
    await pool.query(rawTable(schema));
    const names = new Map<string, string>();
    const query: Query = prepared
      ? (sql, params) => {
          if (!params) return pool.query(sql);
          if (!names.has(sql)) names.set(sql, `raw_${names.size}`);
          return pool.query({ name: names.get(sql)!, text: sql, values: params });
        }
      : (sql, params) => pool.query(sql, params);
    return new RawSystem(prepared ? 'raw-prepared' : 'raw', 'postgres', schema, query, pool);
  }

  static async pglite(db: PGlite): Promise<RawSystem> {
    await db.exec(RAW_TABLE);
    return new RawSystem('raw', 'pglite', 'raw', (sql, params) => db.query(sql, params));
  }

  async reset(): Promise<void> {
    await this.query(`TRUNCATE ${this.schema}.events`);
  }

  async analyze(): Promise<void> {
    await this.query(`ANALYZE ${this.schema}.events`);
  }

  async appendNew(streamId: string, events: BenchEvent[]): Promise<void> {
    if (events.length === 1) {
      const e = events[0]!;
      await this.query(this.insertOneSql, [e.id, streamId, 1, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)]);
    } else {
      await this.insertMany(streamId, events, 1);
    }
  }

  private insertMany(streamId: string, events: BenchEvent[], firstVersion: number): Promise<unknown> {
    return this.query(this.insertManySql, [
      events.map((e) => e.id),
      events.map(() => streamId),
      events.map((_, i) => firstVersion + i),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => JSON.stringify(e.metadata)),
    ]);
  }

  async appendExpected(streamId: string, e: BenchEvent, expected: number): Promise<ExpectedAppend> {
    try {
      await this.query(this.insertOneSql, [e.id, streamId, expected + 1, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)]);
      return { ok: true, version: expected + 1 };
    } catch (error) {
      // The unique (stream_id, stream_version) constraint is the optimistic concurrency check.
      if ((error as { code?: string }).code === '23505') return { ok: false };
      throw error;
    }
  }

  async catchUp(streamId: string, afterVersion: number): Promise<number> {
    const { rows } = await this.query(
      `SELECT ${COLUMNS} FROM ${this.schema}.events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version`,
      [streamId, afterVersion],
    );
    return rows.length ? Number(rows[rows.length - 1].stream_version) : afterVersion;
  }

  async loadStream(streamId: string): Promise<number> {
    const { rows } = await this.query(`SELECT ${COLUMNS} FROM ${this.schema}.events WHERE stream_id = $1 ORDER BY stream_version`, [streamId]);
    return rows.length;
  }

  async readAll(pageSize: number): Promise<number> {
    // Keyset pages of the same size as factum's: no transaction held open, memory bounded.
    let after = '0';
    let count = 0;
    for (;;) {
      const { rows } = await this.query(
        `SELECT ${COLUMNS} FROM ${this.schema}.events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
        [after, pageSize],
      );
      count += rows.length;
      if (rows.length < pageSize) return count;
      after = String(rows[rows.length - 1].global_position);
    }
  }

  /** COPY in text format from a stream of rows generated on the fly: never the whole import in memory. */
  async bulkImport(source: AsyncIterable<ImportBatch>): Promise<string> {
    const client = await this.pool!.connect();
    // A checked-out client with no 'error' listener takes the process down when its connection drops.
    let lost: Error | undefined;
    const onError = (error: Error) => (lost = error);
    client.on('error', onError);
    try {
      const copy = client.query(copyFrom(`COPY ${this.schema}.events (event_id, stream_id, stream_version, event_type, data, metadata) FROM STDIN`));
      await pipeline(Readable.from(copyLines(source)), copy);
    } finally {
      client.off('error', onError);
      client.release(lost ?? false);
    }
    return 'COPY FROM STDIN (text format), one connection';
  }

  async close(): Promise<void> {
    // The pool and the PGlite instance belong to the runner.
  }
}

/** COPY text format: tab-separated, with backslash, tab, newline and carriage return escaped. */
function copyField(value: string): string {
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : value;
}

async function* copyLines(source: AsyncIterable<ImportBatch>): AsyncGenerator<string> {
  for await (const { streamId, firstVersion, events } of source) {
    let chunk = '';
    const stream = copyField(streamId);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      chunk += `${e.id}\t${stream}\t${firstVersion + i}\t${copyField(e.type)}\t${copyField(JSON.stringify(e.data))}\t${copyField(JSON.stringify(e.metadata))}\n`;
    }
    yield chunk;
  }
}
