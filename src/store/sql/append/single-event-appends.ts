import type { ExpectedVersion } from '../../../core/message.js';
import { validatePositiveInt, type PreparedEvent } from '../../../core/validation.js';
import { AppendBatcher, type QueuedAppend } from './append-batcher.js';
import { eventJsonFields, parseOutcome, type AppendOutcome, type AppendStatement } from './append-outcome.js';
import { AS_TEXT } from '../event-columns.js';
import { batchedAppendSql, singleEventAppendSql } from './single-event-append-sql.js';
import type { SqlQueryable } from '../sql-client.js';
import type { SqlNames } from '../sql-names.js';

/** An append of one event, as the short way (and its batcher) carries it. */
interface SingleAppend {
  streamId: string;
  eventId: string;
  /** Length of the event's data and metadata JSON. */
  bytes: number;
  event: PreparedEvent;
  expected: ExpectedVersion;
  /** The wake-up channel, when this append carries the NOTIFY (see wake-ups.ts). */
  channel: string | null;
}

/** How concurrent single-event appends share statements; `false` for one statement per append. */
export type AppendBatching = { maxInFlight: number; maxBatch: number } | false;

/** Runs one append statement (in a transaction with inline projections, when the store has them). */
type RunStatement = (streamId: string, events: PreparedEvent[], statement: AppendStatement) => Promise<AppendOutcome | undefined>;

/** The form and version of the single-event INSERT for an expected version (see single-event-append-sql.ts). */
function singleForm(expected: ExpectedVersion): ['at' | 'next', number] {
  if (typeof expected === 'number') return ['at', expected];
  if (expected === 'no_stream') return ['at', 0];
  return ['next', expected === 'stream_exists' ? 1 : 0];
}

/**
 * The short way of single-event appends: one plain INSERT each, or, when several are on their
 * way at once and batching is on, one INSERT for many (append-batcher.ts). Each answers with
 * the append's outcome, or undefined when the short way could not decide it (the store then
 * takes the general way, `append_events`).
 */
export class SingleEventAppends {
  /** The single-event INSERTs by form, without and with the wake-up NOTIFY. */
  private readonly single: Record<'at' | 'next', [string, string]>;
  private readonly batched: [string, string];
  private readonly batcher: AppendBatcher<SingleAppend, AppendOutcome> | undefined;

  constructor(
    private readonly client: SqlQueryable,
    names: SqlNames,
    batching: AppendBatching,
    private readonly run: RunStatement,
  ) {
    this.single = {
      at: [singleEventAppendSql(names, 'at', false), singleEventAppendSql(names, 'at', true)],
      next: [singleEventAppendSql(names, 'next', false), singleEventAppendSql(names, 'next', true)],
    };
    this.batched = [batchedAppendSql(names, false), batchedAppendSql(names, true)];
    if (batching) {
      validatePositiveInt('appendBatching.maxInFlight', batching.maxInFlight ?? 'missing');
      validatePositiveInt('appendBatching.maxBatch', batching.maxBatch ?? 'missing');
    }
    const sender = { one: (single: SingleAppend) => this.sendOne(single), many: (batch: QueuedAppend<SingleAppend, AppendOutcome>[]) => this.sendMany(batch) };
    this.batcher = batching ? new AppendBatcher(sender, batching.maxInFlight, batching.maxBatch) : undefined;
  }

  /**
   * `channel` when the append carries the wake-up NOTIFY; `batchable` is false when it must run
   * in a transaction of its own (inline projections).
   */
  append(streamId: string, event: PreparedEvent, expected: ExpectedVersion, channel: string | null, batchable: boolean): Promise<AppendOutcome | undefined> {
    const single: SingleAppend = { streamId, eventId: event.id, bytes: event.dataJson.length + event.metadataJson.length, event, expected, channel };
    return this.batcher && batchable ? this.batcher.submit(single) : this.sendOne(single);
  }

  private sendOne(single: SingleAppend): Promise<AppendOutcome | undefined> {
    return this.run(single.streamId, [single.event], this.statement(single));
  }

  private statement({ streamId, event: e, expected, channel }: SingleAppend): AppendStatement {
    const [form, version] = singleForm(expected);
    const params = [e.id, streamId, version, e.type, e.dataJson, e.metadataJson, e.schemaVersion];
    const [plain, notifying] = this.single[form];
    return channel ? { sql: notifying, params: [...params, channel] } : { sql: plain, params };
  }

  /**
   * One statement for several appends; each gets its outcome, or undefined to go its own way:
   * its check failed, its row met a unique index (a lost race, a retried event id), or the
   * server refused the statement as a whole, which writes nothing. Only a broken connection
   * fails them all, as it would have failed each alone.
   */
  private async sendMany(batch: QueuedAppend<SingleAppend, AppendOutcome>[]): Promise<void> {
    let json = '[';
    let channel: string | null = null;
    for (let i = 0; i < batch.length; i++) {
      const { streamId, event: e, expected, channel: carried } = batch[i]!.item;
      const [form, version] = singleForm(expected);
      json += `${i ? ',' : ''}{"s":${JSON.stringify(streamId)},"f":"${form}","n":${version},${eventJsonFields(e)}}`;
      channel ??= carried;
    }
    json += ']';
    let rows: { id: string; r: string }[];
    try {
      ({ rows } = await this.client.query<{ id: string; r: string }>(this.batched[channel ? 1 : 0], channel ? [json, channel] : [json], { parsers: AS_TEXT }));
    } catch (error) {
      const e = error as { code?: unknown; severity?: unknown };
      if (!(typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity === 'ERROR')) throw error;
      rows = [];
    }
    const written = new Map(rows.map((row) => [row.id, row.r]));
    for (const { item, resolve } of batch) {
      const r = written.get(item.eventId);
      resolve(r === undefined ? undefined : parseOutcome(r));
    }
  }
}
