import { tracedAppend } from '../../core/telemetry/spans.js';
import { ConcurrencyError, FactumError, idempotencyConflictError, streamTombstonedError } from '../../core/errors.js';
import { describeExpectedVersion, streamCategory, type AppendResult, type ExpectedVersion, type NewEvent, type RecordedEvent } from '../../core/message.js';
import type { AllPage, AppendOptions, ListStreamsOptions, ReadAllPageOptions, StreamInfo, StreamMetadata } from '../../core/event-store.js';
import type { PreparedEvent, StoreLimits } from '../../core/validation.js';
import { BaseEventStore, type StreamPageRequest } from '../base-event-store.js';
import { preparedToRecorded } from '../recorded-event.js';
import { AS_TEXT, EVENT_COLUMNS, EVENT_PARSERS } from './event-columns.js';
import { checkExpectedVersion } from '../stream-rules.js';
import { migrate } from './migrations/migrate.js';
import { ReadAllSafety, safeEnd } from './read-all-safety.js';
import type { SqlClient, SqlQueryable, TypeParsers } from './sql-client.js';
import { sqlNames, type SqlNames } from './sql-names.js';
import { storageError } from './storage-error.js';
import { eventJsonFields, parseOutcome, type AppendOutcome, type AppendStatement } from './append/append-outcome.js';
import { SingleEventAppends, type AppendBatching } from './append/single-event-appends.js';
import { streamReadSql } from './stream-read-sql.js';
import { sqlTransactionScope } from './sql-transaction-scope.js';
import { ENLIST_TRANSACTION, type PrepareEvents, type TransactionScope } from '../transaction-scope.js';
import { WakeUps } from './wake-ups.js';
import { IMPORT_PREPARED, type PreparedImport } from '../bulk-import.js';
import { importBatchSql } from './sql-import.js';
import type { StoreCapabilities } from '../../core/store-capabilities.js';
import { SQL_ACCESS, type SqlAccess } from '../sql-access.js';
import { ARCHIVE_STORAGE, type ArchiveStorage } from '../archive/archive-storage.js';
import { sqlArchiveStorage } from './sql-archive-storage.js';

/** Options shared by the PostgreSQL and PGlite stores. */
export interface SqlEventStoreOptions {
  /** Database schema holding factum's tables; `factum` by default. */
  schema?: string;
  limits?: Partial<StoreLimits>;
  /**
   * How concurrent single-event appends share statements on PostgreSQL (see append-batcher.ts):
   * while `maxInFlight` of them are on their way, new appends wait and go together, at most
   * `maxBatch` (and about 1 MiB of JSON) in one statement. `{ maxInFlight: 2, maxBatch: 64 }`
   * by default (the fastest setting with 16 writers on 2 cores); `false` for one statement per append.
   */
  appendBatching?: AppendBatching;
}


/** A stream's state as `streamStateSql` returns it. */
export interface StreamRow {
  stream_id: string;
  version: string | number;
  soft_deleted: boolean;
  tombstoned: boolean;
  metadata: StreamMetadata;
  archived_before?: string | number;
}


/** An inline projection's own error, carried past the append's error handling unchanged. */
class InlineProjectionFailure {
  constructor(readonly error: unknown) {}
}

/** Races lost in a row before an append gives up with a conflict (each loss means another append went through). */
const MAX_RACE_ATTEMPTS = 20;

/** The events of one append as the JSON array `append_events` takes. */
function eventsJson(events: PreparedEvent[]): string {
  let json = '[';
  for (let i = 0; i < events.length; i++) json += `${i ? ',' : ''}{${eventJsonFields(events[i]!)}}`;
  return json + ']';
}

/**
 * The event store on SQL: one implementation for PostgreSQL (`pg`) and PGlite. Appends are one
 * round trip to a PL/pgSQL function; reads of `$all` are gap-safe (see read-all-safety.ts).
 * Open it with `openEventStore`; code that
 * needs its SQL side asks `sqlAccess(store)` rather than `instanceof`, which also answers for a
 * store wrapped by a registry.
 *
 * @example
 * const store = (await openEventStore()) as SqlEventStore
 * await store.migrate() // [] once the schema is current (opening already migrates)
 * const { client, names } = sqlAccess(store)!
 * await client.query(`SELECT count(*) FROM ${names.s}events`)
 */
export class SqlEventStore extends BaseEventStore {
  readonly kind: string;
  readonly names: SqlNames;
  readonly capabilities: StoreCapabilities;
  /** What the layers above use of this store (sql-access.ts), instead of its class. */
  readonly [SQL_ACCESS]: SqlAccess;
  /** Raw reads, removal and restore for the archiver (src/store/archive). */
  readonly [ARCHIVE_STORAGE]: ArchiveStorage;
  private readonly safety = new ReadAllSafety();
  private observing: Promise<unknown> = Promise.resolve();
  private readonly singleEvents: SingleEventAppends;
  /** Wake-ups of subscribers in other processes; PGlite has no other processes. */
  private readonly wakeUps: WakeUps | undefined;

  constructor(
    readonly client: SqlClient,
    options: SqlEventStoreOptions = {},
  ) {
    super(options.limits);
    this.kind = client.kind;
    this.names = sqlNames(options.schema ?? 'factum');
    this.capabilities = Object.freeze({ sql: true, concurrentSessions: client.concurrentSessions, listen: typeof client.listen === 'function', inlineHooks: true, ephemeral: false });
    this[SQL_ACCESS] = Object.freeze({
      client,
      names: this.names,
      transaction: <T>(fn: (tx: SqlQueryable) => Promise<T>) => client.transaction(fn),
      eventColumns: EVENT_COLUMNS,
      eventParsers: EVENT_PARSERS,
      storageError,
    });
    this[ARCHIVE_STORAGE] = sqlArchiveStorage(client, this.names);
    // A NOTIFY of its own, after the appends it covers committed, in a tiny transaction.
    const notifyAlone = () => client.query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, NULL)", [this.names.appendChannel]);
    // Wake-ups of subscribers in other sessions; a single session (PGlite) has no one else to wake.
    this.wakeUps = client.concurrentSessions ? new WakeUps(notifyAlone) : undefined;
    // One session runs one statement at a time: nothing to batch there.
    const batching = client.concurrentSessions ? (options.appendBatching ?? { maxInFlight: 2, maxBatch: 64 }) : false;
    this.singleEvents = new SingleEventAppends(client, this.names, batching, (streamId, events, statement) => this.appendOnce(streamId, events, statement));
  }

  /** One batch of importEvents: one multi-row insert in a transaction of its own (see sql-import.ts). */
  [IMPORT_PREPARED](batch: PreparedImport): Promise<bigint> {
    return importBatchSql(this, batch);
  }

  /** Applies pending schema migrations; returns the versions it applied. */
  migrate(): Promise<number[]> {
    return migrate(this.client, this.names);
  }

  protected appendPrepared(streamId: string, events: PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    return this.appendPreparedOn(undefined, streamId, events, expected);
  }

  /**
   * `on`: the session of a transaction the append belongs to (store.transaction, or a
   * handler's), or undefined for an append that is a transaction of its own. Inside a
   * transaction it takes the general way, never the batcher (its row belongs to that
   * transaction, not to a shared statement), and always carries the wake-up NOTIFY, which
   * PostgreSQL delivers when the transaction commits.
   */
  private async appendPreparedOn(on: SqlQueryable | undefined, streamId: string, events: PreparedEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const notify = on ? false : (this.wakeUps?.carry() ?? false);
    const channel = notify || (on && this.wakeUps) ? this.names.appendChannel : null;
    const exact = typeof expected === 'number';
    let general: AppendStatement | undefined;
    let outcome: AppendOutcome | undefined;
    try {
      for (let attempt = 1; !outcome; attempt++) {
        try {
          // One event goes the short way first; what that cannot decide goes the general way.
          if (events.length === 1 && attempt === 1 && this.client.preparesStatements && !on) {
            outcome = await this.singleEvents.append(streamId, events[0]!, expected, channel, !this.inlineHook);
          } else {
            outcome = await this.appendOnce(streamId, events, (general ??= {
              sql: `SELECT ${this.names.s}append_events($1, $2, $3, $4::jsonb, $5, $6) AS r`,
              params: [streamId, exact ? 'exact' : expected, exact ? expected : null, eventsJson(events), this.client.concurrentSessions, channel],
            }), on);
          }
        } catch (error) {
          outcome = await this.afterUniqueViolation(error, streamId, events, expected, attempt, on);
        }
      }
    } finally {
      if (!on) this.wakeUps?.ended(notify, outcome !== undefined && !outcome.result.alreadyAppended);
    }
    return outcome.result;
  }

  /**
   * One round trip, unless inline projections must run in the append's transaction. Undefined
   * when the statement wrote nothing and decided nothing (the single-event form, see its file).
   * In a transaction that is not its own (`on`), the append runs in a savepoint: a lost race
   * or a retried event id is a unique violation, which would abort the whole transaction, and
   * must instead undo only this attempt, to be sorted out like any other append's.
   */
  private async appendOnce(streamId: string, events: PreparedEvent[], { sql, params }: AppendStatement, on?: SqlQueryable): Promise<AppendOutcome | undefined> {
    const inline = this.inlineHook;
    if (!inline && !on) {
      const row = (await this.client.query<{ r: string }>(sql, params)).rows[0];
      return row && parseOutcome(row.r);
    }
    // An inline projection's own error cancels the append and reaches the caller as it is.
    let projectionFailed: { error: unknown } | undefined;
    const write = async (tx: SqlQueryable): Promise<AppendOutcome | undefined> => {
      const row = (await tx.query<{ r: string }>(sql, params)).rows[0];
      if (!row) return undefined;
      const outcome = parseOutcome(row.r);
      const { result, recordedAt } = outcome;
      if (!result.alreadyAppended && inline) {
        const first = result.nextExpectedVersion - events.length + 1;
        const at = new Date(recordedAt);
        try {
          await inline(result.positions.map((position, i) => preparedToRecorded(events[i]!, streamId, first + i, position, at)), tx);
        } catch (error) {
          projectionFailed = { error };
          throw error;
        }
      }
      return outcome;
    };
    try {
      return await (on ? inSavepoint(on, () => write(on)) : this.client.transaction(write));
    } catch (error) {
      throw projectionFailed ? new InlineProjectionFailure(projectionFailed.error) : error;
    }
  }

  /**
   * An append that failed on a unique index. On event_id: a retry of an append that went through
   * (answered with the first result) or a re-used id (IDEMPOTENCY_CONFLICT). On the stream's
   * version: another append won the race for it; trying again gives the right answer, a
   * conflict for an exact version or no_stream, the next version for any or stream_exists.
   * Returns undefined to try again; throws everything else as a typed error.
   */
  private async afterUniqueViolation(error: unknown, streamId: string, events: PreparedEvent[], expected: ExpectedVersion, attempt: number, on?: SqlQueryable): Promise<AppendOutcome | undefined> {
    if (error instanceof InlineProjectionFailure) throw error.error;
    const e = error as { code?: string; constraint?: string };
    if (e.code !== '23505') throw this.appendError(error, streamId, expected);
    if (e.constraint?.includes('event_id')) {
      let before: string | null;
      try {
        ({ r: before } = (await (on ?? this.client).query<{ r: string | null }>(`SELECT ${this.names.s}appended_before($1, $2::uuid[]) AS r`, [streamId, events.map((event) => event.id)])).rows[0]!);
      } catch (lookupError) {
        throw this.appendError(lookupError, streamId, expected);
      }
      if (before) return parseOutcome(before);
      throw idempotencyConflictError(streamId, 1, events.length);
    }
    if (attempt < MAX_RACE_ATTEMPTS) return undefined;
    const info = await this.streamInfoImpl(streamId);
    throw new ConcurrencyError(streamId, describeExpectedVersion(expected), info.version, info.exists);
  }

  private appendError(error: unknown, streamId: string, expected: ExpectedVersion): FactumError {
    const e = error as { code?: string; detail?: string };
    const detail = parseDetail(e.detail);
    if (e.code === 'FX409') {
      return new ConcurrencyError(streamId, describeExpectedVersion(expected), Number(detail.version), Boolean(detail.exists));
    }
    if (e.code === 'FX410') return streamTombstonedError(streamId);
    if (e.code === 'FX422') return idempotencyConflictError(streamId, Number(detail.found), Number(detail.total));
    return storageError('append', error);
  }

  protected async readStreamPage(streamId: string, request: StreamPageRequest, on: SqlQueryable = this.client): Promise<RecordedEvent[]> {
    const forward = request.direction === 'forward';
    const low = forward ? request.fromVersion : request.toVersion;
    const high = forward ? request.toVersion : request.fromVersion;
    const { rows } = await this.run<RecordedEvent>('readStream', on, streamReadSql(this.names, request.direction), [
      streamId,
      low,
      Math.min(high, Number.MAX_SAFE_INTEGER),
      request.asOf ?? null,
      request.limit,
    ], EVENT_PARSERS);
    return rows;
  }

  protected async readAllPageImpl(after: bigint, limit: number, filter: ReadAllPageOptions): Promise<AllPage> {
    const { s } = this.names;
    const { head, settled } = await this.observeAppenders();
    const filtered = Boolean(filter.types?.length || filter.categories?.length);

    let page: AllPage;
    if (!filtered) {
      const { rows: events } = await this.run<RecordedEvent>('readAll', this.client,
        `SELECT ${EVENT_COLUMNS} FROM ${s}events e WHERE e.global_position > $1 ORDER BY e.global_position LIMIT $2`,
        [after.toString(), limit],
        EVENT_PARSERS,
      );
      const { end, hole } = safeEnd(after, events.map((e) => e.globalPosition), settled, events.length < limit);
      page = { events: events.filter((e) => e.globalPosition <= end), position: end, headPosition: head, ...(hole ? { waitingOn: { position: hole, pids: [] } } : {}) };
    } else {
      // Find how far is safe on positions alone (an index-only scan), then fetch matching rows below it.
      const scan = Math.max(limit * 10, 10_000);
      const positions = await this.run<{ global_position: string | number }>('readAll', this.client,
        `SELECT global_position FROM ${s}events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
        [after.toString(), scan],
      );
      const found = positions.rows.map((r) => BigInt(r.global_position));
      const { end, hole } = safeEnd(after, found, settled, found.length < scan);
      const { rows: events } = await this.run<RecordedEvent>('readAll', this.client,
        `SELECT ${EVENT_COLUMNS} FROM ${s}events e
          WHERE e.global_position > $1 AND e.global_position <= $2
            AND (cardinality($3::text[]) = 0 OR e.event_type = ANY($3))
            AND (cardinality($4::text[]) = 0 OR split_part(e.stream_id, '-', 1) = ANY($4))
          ORDER BY e.global_position LIMIT $5`,
        [after.toString(), end.toString(), filter.types ?? [], filter.categories ?? [], limit],
        EVENT_PARSERS,
      );
      const position = events.length === limit ? events[events.length - 1]!.globalPosition : end;
      page = { events, position, headPosition: head, ...(hole && position === end ? { waitingOn: { position: hole, pids: [] } } : {}) };
    }
    if (page.waitingOn) page.waitingOn = await this.describeWait(page.waitingOn.position);
    return page;
  }

  /**
   * Observes the head and the open appends, and feeds the observation to the proof. One at a
   * time per store object: the proof needs observations in the order the database made them,
   * and two readers (subscriptions) sharing this object would otherwise race, an older
   * observation arriving after a newer one and "proving" a still-open append had ended.
   * PGlite is one session that runs a transaction to its end before the next statement, so no
   * append can be open while this runs: its head is settled as read, without scanning pg_locks.
   */
  private observeAppenders(): Promise<{ head: bigint; settled: bigint }> {
    const observe = async () => {
      if (!this.client.concurrentSessions) {
        const head = await this.headPositionImpl();
        return { head, settled: this.safety.observe(head, []) };
      }
      const state = await this.run<{ head: string; appenders: string }>('readAll', this.client,
        `SELECT head::text AS head, array_to_string(appenders, ' ') AS appenders FROM ${this.names.s}read_all_state()`, undefined, AS_TEXT);
      const { head, appenders } = state.rows[0]!;
      return { head: BigInt(head), settled: this.safety.observe(BigInt(head), appenders ? appenders.split(' ') : []) };
    };
    const result = this.observing.then(observe, observe);
    this.observing = result.catch(() => undefined);
    return result;
  }

  /** Who holds the reader back, and since when: shown as lag by subscriptions. */
  private async describeWait(position: bigint): Promise<NonNullable<AllPage['waitingOn']>> {
    const { rows } = await this.run<{ pid: number; since: Date | null }>('readAll', this.client,
      `SELECT DISTINCT w.pid, a.xact_start AS since FROM ${this.names.s}log_writers() w LEFT JOIN pg_stat_activity a ON a.pid = w.pid
        ORDER BY since NULLS LAST`, undefined, EVENT_PARSERS);
    const since = rows.find((r) => r.since)?.since;
    return { position, pids: rows.map((r) => Number(r.pid)), ...(since ? { since } : {}) };
  }

  protected async headPositionImpl(): Promise<bigint> {
    const { rows } = await this.run<{ head: string | number }>('headPosition', this.client,
      `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS head FROM ${this.names.s}position_seq`, undefined, AS_TEXT);
    return BigInt(rows[0]!.head);
  }

  protected async streamInfoImpl(streamId: string, on: SqlQueryable = this.client): Promise<StreamInfo> {
    const { rows } = await this.run<StreamRow>('streamInfo', on, this.streamStateSql(), [streamId]);
    return toInfo(rows[0]!);
  }

  /**
   * Streams' state (a `StreamRow` each) from their settings row, if any, and their last event.
   * `ids` is a FROM item with one column `id`: `(SELECT $1::text AS id) AS x` for one stream.
   */
  streamStateSql(ids = '(SELECT $1::text AS id) AS x'): string {
    const { s } = this.names;
    return `
      SELECT x.id AS stream_id,
             GREATEST(coalesce(st.version, 0), coalesce((SELECT max(e.stream_version) FROM ${s}events e WHERE e.stream_id = x.id), 0)) AS version,
             coalesce(st.soft_deleted, false) AS soft_deleted, coalesce(st.tombstoned, false) AS tombstoned,
             coalesce(st.metadata, '{}') AS metadata, coalesce(st.archived_before, 1) AS archived_before
        FROM ${ids} LEFT JOIN ${s}streams st ON st.stream_id = x.id`;
  }

  protected async setStreamMetadataImpl(streamId: string, metadata: StreamMetadata): Promise<void> {
    const { rows } = await this.run<{ tombstoned: boolean }>('setStreamMetadata', this.client, `
      INSERT INTO ${this.names.s}streams AS st (stream_id, category, metadata) VALUES ($1, $2, $3::jsonb)
      ON CONFLICT (stream_id) DO UPDATE SET metadata = CASE WHEN st.tombstoned THEN st.metadata ELSE excluded.metadata END
      RETURNING tombstoned`,
      [streamId, streamCategory(streamId), JSON.stringify(metadata)],
    );
    if (rows[0]?.tombstoned) throw streamTombstonedError(streamId);
  }

  protected async deleteStreamImpl(streamId: string, expected: ExpectedVersion, hard: boolean): Promise<void> {
    const { s } = this.names;
    await this.ownTransaction('deleteStream', async (tx) => {
      // Waits for the appends in flight and holds new ones back until the delete commits, so
      // no append can slip in between the version check and the delete. Readers are not held.
      await tx.query(`LOCK TABLE ${s}events IN SHARE ROW EXCLUSIVE MODE`);
      const { rows } = await tx.query<StreamRow>(this.streamStateSql(), [streamId]);
      const info = toInfo(rows[0]!);
      if (info.tombstoned) throw streamTombstonedError(streamId);
      checkExpectedVersion(streamId, expected, info.version, info.exists);
      if (hard) {
        await tx.query(`DELETE FROM ${s}events WHERE stream_id = $1`, [streamId]);
        await tx.query(`
          INSERT INTO ${s}streams (stream_id, category, version, soft_deleted, tombstoned) VALUES ($1, $2, $3, true, true)
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, soft_deleted = true, tombstoned = true`,
          [streamId, streamCategory(streamId), info.version]);
      } else if (info.version > 0) {
        // Versions continue after a soft delete: the row remembers where the stream stood.
        await tx.query(`
          INSERT INTO ${s}streams AS st (stream_id, category, version, soft_deleted, metadata)
          VALUES ($1, $2, $3, true, jsonb_build_object('truncateBefore', $3::bigint + 1))
          ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, soft_deleted = true,
            metadata = st.metadata || jsonb_build_object('truncateBefore', excluded.version + 1)`,
          [streamId, streamCategory(streamId), info.version]);
      }
    });
  }

  /**
   * Streams are the distinct ids of the log plus those with a settings row (a tombstoned stream
   * has no events left). They are found by skipping through both indexes one id at a time, so a
   * page costs a few index probes per stream whatever the size of the log. A category is one
   * range of ids in bytewise order: from "c" to just before "c." ("." follows "-").
   */
  protected async listStreamsImpl(options: ListStreamsOptions & { limit: number }): Promise<StreamInfo[]> {
    const { s } = this.names;
    const category = options.category;
    const below = category === undefined ? '' : 'AND stream_id < $6';
    const next = (after: string, from: string) => `LEAST(
        (SELECT min(stream_id) FROM ${s}events WHERE stream_id > ${after} ${from} ${below}),
        (SELECT min(stream_id) FROM ${s}streams WHERE stream_id > ${after} ${from} ${below}))`;
    const { rows } = await this.run<StreamRow>('listStreams', this.client, `
      WITH RECURSIVE ids(id) AS (
        SELECT ${next('$1', 'AND stream_id >= $2')}
        UNION ALL
        SELECT ${next('ids.id', '')} FROM ids WHERE ids.id IS NOT NULL
      )
      SELECT * FROM (
        SELECT state.* FROM ids CROSS JOIN LATERAL (${this.streamStateSql('(SELECT ids.id) AS x(id)')}) AS state
         WHERE ids.id IS NOT NULL AND ($3::text IS NULL OR split_part(ids.id, '-', 1) = $3)
           AND ($4 OR (state.version > 0 AND NOT state.soft_deleted AND NOT state.tombstoned))
         LIMIT $5
      ) AS page ORDER BY stream_id COLLATE "C"`,
      [options.after ?? '', category ?? '', category ?? null, options.includeDeleted ?? false, options.limit, ...(category === undefined ? [] : [`${category}.`])],
    );
    return rows.map(toInfo);
  }

  protected async inTransaction<T>(body: (sql: SqlQueryable) => Promise<T>): Promise<T> {
    // The callback's own error (the user's, or a typed one of factum's) reaches the caller as it
    // is; a failed BEGIN or COMMIT is the database's.
    let failed: { error: unknown } | undefined;
    try {
      return await this.client.transaction(async (sql) => {
        try {
          return await body(sql);
        } catch (error) {
          failed = { error };
          throw error;
        }
      });
    } catch (error) {
      if (failed && failed.error === error) throw error;
      throw storageError('transaction', error);
    }
  }

  async [ENLIST_TRANSACTION](sql: SqlQueryable | undefined, prepare?: PrepareEvents): Promise<TransactionScope> {
    this.assertOpen();
    if (!sql) throw new FactumError('INVALID_ARGUMENT', `The ${this.kind} store joins a transaction through its SQL session`);
    return sqlTransactionScope(
      {
        kind: this.kind,
        appendOn: (on) => (streamId: string, events: NewEvent[], options: AppendOptions) =>
          tracedAppend(streamId, events, (stamped) => {
            const { prepared, expected } = this.validateAppend(streamId, stamped, options);
            return this.appendPreparedOn(on, streamId, prepared, expected);
          }),
        sqlError: (error) => storageError('transaction', error),
        announce: (streamId, result) => this.announceAppended(streamId, result),
      },
      sql,
      prepare,
    );
  }

  protected async closeImpl(): Promise<void> {
    this.wakeUps?.close();
    await this.client.close();
  }

  private async run<Row>(operation: string, on: SqlQueryable, sql: string, params?: unknown[], parsers?: TypeParsers): Promise<{ rows: Row[] }> {
    try {
      return await on.query<Row>(sql, params, parsers && { parsers });
    } catch (error) {
      throw storageError(operation, error);
    }
  }

  private async ownTransaction<T>(operation: string, fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    try {
      return await this.client.transaction(fn);
    } catch (error) {
      if (error instanceof FactumError) throw error;
      throw storageError(operation, error);
    }
  }
}

/** `fn` in a savepoint of the transaction on `on`: a failure undoes only what `fn` did. */
async function inSavepoint<T>(on: SqlQueryable, fn: () => Promise<T>): Promise<T> {
  await on.query('SAVEPOINT factum_append');
  try {
    const result = await fn();
    await on.query('RELEASE SAVEPOINT factum_append');
    return result;
  } catch (error) {
    await on.query('ROLLBACK TO SAVEPOINT factum_append');
    await on.query('RELEASE SAVEPOINT factum_append');
    throw error;
  }
}

function parseDetail(detail: string | undefined): Record<string, unknown> {
  try {
    return detail ? (JSON.parse(detail) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}


function toInfo(row: StreamRow): StreamInfo {
  const version = Number(row.version);
  return {
    streamId: row.stream_id,
    version,
    exists: version > 0 && !row.soft_deleted && !row.tombstoned,
    softDeleted: row.soft_deleted && !row.tombstoned && version > 0,
    tombstoned: row.tombstoned,
    metadata: row.metadata,
    ...(Number(row.archived_before ?? 1) > 1 ? { archivedBefore: Number(row.archived_before) } : {}),
  };
}
