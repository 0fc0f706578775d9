import { FactumError, isFactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { THIS_PROCESS } from '../core/this-process.js';
import { sqlAccess, type SqlAccess } from '../store/sql-access.js';
import { consumerStorageFor, type DeadLetter } from './consumer-storage.js';
import type { DrainResult } from './dead-letter-drain.js';

/** What an operator asks of a dead letter's owner. */
export type DeadLetterAction = 'retry' | 'skip';

/**
 * A request in the store for the process that runs a dead letter's runner (migration 009):
 * `pending` until an owner claims it (`running`), then `succeeded` (its stream flows again) or
 * `failed` (the letter, or an event parked behind it, failed again: `error` says why).
 */
export interface DeadLetterRequest {
  id: string;
  /** The runner's dead-letter name (a subscription's name, `consumer:<name>` for a broker consumer). */
  subscription: string;
  deadLetterId: string;
  streamId: string;
  eventId: string;
  action: DeadLetterAction;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  requestedAt: Date;
  /** `host:pid` of the process that carried it out. */
  claimedBy?: string;
  doneAt?: Date;
  /** Events handled by the owner (the retried one, then those parked behind it). */
  handled?: number;
  /** Events of the stream still held afterwards. */
  remaining?: number;
  error?: string;
  errorCode?: string;
}

interface RequestRow {
  id: string | number;
  subscription: string;
  dead_letter_id: string | number;
  stream_id: string;
  event_id: string;
  action: DeadLetterAction;
  status: DeadLetterRequest['status'];
  requested_at: Date;
  claimed_by: string | null;
  done_at: Date | null;
  handled: number | null;
  remaining: number | null;
  error: string | null;
  error_code: string | null;
}

/**
 * How long a claim stands without its owner renewing it: an owner renews every poll (a second
 * by default) while it carries a request out, so one silent this long has died, and another
 * owner takes the request over. A drain taken over repeats no event whose handling committed:
 * each one leaves the dead letters in its own transaction, under its stream's lock.
 */
export const ABANDONED_CLAIM_MS = 10_000;

/** A request an owner may claim (`$2` is `ABANDONED_CLAIM_MS`). */
const CLAIMABLE = `(status = 'pending' OR (status = 'running' AND claimed_at < now() - $2 * interval '1 millisecond'))`;

/**
 * The dead-letter table's `subscription` of a broker consumer is this prefix and its name (see
 * `ConsumerDeadLetters`): a skip of one of its letters also records the message in its inbox, as
 * a skip from code does, so a relay's re-publish of the skipped message is absorbed.
 */
export const CONSUMER_DEAD_LETTERS = 'consumer:';


/**
 * The dead-letter request table of a SQL store: what the operator's side writes (a retry
 * request; a skip, done at once) and reads (the outcome), and what owners claim and complete.
 * One statement per operation, so two owners of one runner (partitions, broker consumers of one
 * group in several processes) never both claim a request.
 *
 * @example
 * const requests = DeadLetterRequests.of(store) // undefined on the memory store
 * const request = await requests?.requestRetry('42')
 */
export class DeadLetterRequests {
  private constructor(
    private readonly store: EventStore,
    private readonly sql: SqlAccess,
  ) {}

  /** The requests of `store`, or undefined when it keeps no tables (the memory store: retry and skip from code). */
  static of(store: EventStore): DeadLetterRequests | undefined {
    const sql = sqlAccess(store);
    return sql ? new DeadLetterRequests(store, sql) : undefined;
  }

  /**
   * Asks the owner to retry the dead letter `deadLetterId` (a `dead` one: a retrying or parked
   * event is not the operator's to retry). A retry already asked for and not yet claimed is
   * returned rather than asked twice.
   */
  async requestRetry(deadLetterId: string): Promise<DeadLetterRequest> {
    const letter = await this.deadLetter(deadLetterId);
    const { s } = this.sql.names;
    return this.run('Requesting a dead-letter retry', async () => {
      const { rows: open } = await this.sql.client.query<RequestRow>(
        `SELECT * FROM ${s}dead_letter_requests WHERE dead_letter_id = $1 AND action = 'retry' AND status = 'pending' ORDER BY id LIMIT 1`,
        [deadLetterId],
      );
      if (open[0]) return toRequest(open[0]);
      return this.insert(this.sql.client, letter, 'retry');
    });
  }

  /**
   * Skips the dead letter `deadLetterId` in the database, as `skipDeadLetter` does from code:
   * its row goes, under its key's lock (a broker consumer checking the key in another process
   * waits, then parks behind what is left or handles after it). The events parked behind it need
   * the handler: the returned request asks the owner to let them flow, in order (and to forget the
   * stream it may have cached as blocked). Without a running owner they flow at its next start.
   */
  async skip(deadLetterId: string): Promise<DeadLetterRequest> {
    const letter = await this.deadLetter(deadLetterId);
    const { s } = this.sql.names;
    return this.run('Skipping a dead letter', () =>
      consumerStorageFor(this.store).transaction(async (tx) => {
        await tx.lockKeys(letter.subscription, [letter.streamId]);
        const sql = tx.sql!;
        const { rows } = await sql.query(`DELETE FROM ${s}dead_letters WHERE id = $1 AND status = 'dead' RETURNING id`, [deadLetterId]);
        if (rows.length === 0) throw new FactumError('DEAD_LETTER_NOT_FOUND', `Dead letter "${deadLetterId}" was retried or skipped meanwhile`, { details: { id: deadLetterId } });
        // The message id a broker consumer's inbox keeps is the event id (see eventToMessage).
        if (letter.subscription.startsWith(CONSUMER_DEAD_LETTERS)) await tx.recordInbox(letter.subscription.slice(CONSUMER_DEAD_LETTERS.length), letter.event.id);
        return this.insert(sql, letter, 'skip');
      }),
    );
  }

  /** The request `id` as it stands now. */
  async read(id: string): Promise<DeadLetterRequest> {
    const { rows } = await this.run('Reading a dead-letter request', () => this.sql.client.query<RequestRow>(`SELECT * FROM ${this.sql.names.s}dead_letter_requests WHERE id = $1`, [id]));
    if (!rows[0]) throw new FactumError('NOT_FOUND', `No dead-letter request "${id}"`, { details: { id } });
    return toRequest(rows[0]);
  }

  /**
   * Requests of `subscription` an owner may claim, oldest first (the owner filters those of its
   * streams, then claims): the pending ones, and those whose owner stopped renewing its claim
   * (`ABANDONED_CLAIM_MS`: it crashed mid-way).
   */
  async pending(subscription: string): Promise<DeadLetterRequest[]> {
    const { rows } = await this.sql.client.query<RequestRow>(`SELECT * FROM ${this.sql.names.s}dead_letter_requests WHERE subscription = $1 AND ${CLAIMABLE} ORDER BY id`, [subscription, ABANDONED_CLAIM_MS]);
    return rows.map(toRequest);
  }

  /** Claims a pending (or abandoned) request for this process: false when another owner got it first. */
  async claim(id: string): Promise<boolean> {
    const { rows } = await this.sql.client.query(
      `UPDATE ${this.sql.names.s}dead_letter_requests SET status = 'running', claimed_by = $3, claimed_at = now() WHERE id = $1 AND ${CLAIMABLE} RETURNING id`,
      [id, ABANDONED_CLAIM_MS, THIS_PROCESS],
    );
    return rows.length === 1;
  }

  /** Renews this process's claim on a request it is carrying out, so that no other owner takes it over. */
  async renew(id: string): Promise<void> {
    await this.sql.client.query(`UPDATE ${this.sql.names.s}dead_letter_requests SET claimed_at = now() WHERE id = $1 AND status = 'running' AND claimed_by = $2`, [id, THIS_PROCESS]);
  }

  /** Removes the outcomes of requests done more than `olderThanMs` ago (7 days by default): an operator has read them by then. */
  async prune(olderThanMs = 7 * 24 * 3600 * 1000): Promise<number> {
    const { rows } = await this.sql.client.query(
      `DELETE FROM ${this.sql.names.s}dead_letter_requests WHERE status IN ('succeeded', 'failed') AND done_at < now() - $1 * interval '1 millisecond' RETURNING id`,
      [olderThanMs],
    );
    return rows.length;
  }

  /** Records the outcome of a claimed request: what the drain did, and the failure that holds the stream (if one does). */
  async complete(id: string, result: DrainResult, failure?: Pick<DeadLetter, 'error' | 'errorCode'>): Promise<void> {
    const failed = result.remaining > 0;
    await this.sql.client.query(
      `UPDATE ${this.sql.names.s}dead_letter_requests SET status = $2, done_at = now(), handled = $3, remaining = $4, error = $5, error_code = $6 WHERE id = $1`,
      [id, failed ? 'failed' : 'succeeded', result.handled, result.remaining, failed ? (failure?.error ?? 'failed again') : null, failed ? (failure?.errorCode ?? null) : null],
    );
  }

  /** Hands a claimed request back (its runner stopped mid-way, the database went away): the next poll, or the next owner, takes it again. */
  async release(id: string): Promise<void> {
    await this.sql.client.query(`UPDATE ${this.sql.names.s}dead_letter_requests SET status = 'pending', claimed_by = NULL, claimed_at = NULL WHERE id = $1 AND status = 'running'`, [id]);
  }

  /** The dead letter `id` when it is one an operator may act on (status `dead`). */
  private async deadLetter(id: string): Promise<DeadLetter & { subscription: string }> {
    if (!/^\d+$/.test(id)) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter "${id}" (ids are numbers: see \`factum dead-letters\`)`, { details: { id } });
    const { rows } = await this.run('Reading a dead letter', () =>
      this.sql.client.query<{ subscription: string; status: string; stream_id: string; event_id: string }>(`SELECT subscription, status, stream_id, event_id FROM ${this.sql.names.s}dead_letters WHERE id = $1`, [id]),
    );
    const row = rows[0];
    if (!row) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter "${id}"`, { details: { id } });
    if (row.status !== 'dead') {
      const why = row.status === 'parked' ? 'it is parked behind an earlier failed event of its stream: act on that one' : 'its retries are under way';
      throw new FactumError('INVALID_ARGUMENT', `Dead letter "${id}" is ${row.status}: ${why}`, { details: { id, status: row.status } });
    }
    const [letter] = (await consumerStorageFor(this.store).listDeadLetters(row.subscription, { streamId: row.stream_id })).filter((l) => l.id === id);
    if (!letter) throw new FactumError('DEAD_LETTER_NOT_FOUND', `Dead letter "${id}" was retried or skipped meanwhile`, { details: { id } });
    return letter;
  }

  private async insert(sql: { query: SqlAccess['client']['query'] }, letter: DeadLetter, action: DeadLetterAction): Promise<DeadLetterRequest> {
    const { rows } = await sql.query<RequestRow>(
      `INSERT INTO ${this.sql.names.s}dead_letter_requests (subscription, dead_letter_id, stream_id, event_id, action) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [letter.subscription, letter.id, letter.streamId, letter.event.id, action],
    );
    return toRequest(rows[0]!);
  }

  /** Database failures as `STORAGE_ERROR`; factum's own errors as they are. */
  private async run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isFactumError(error)) throw error;
      throw this.sql.storageError(operation, error);
    }
  }
}

function toRequest(row: RequestRow): DeadLetterRequest {
  return {
    id: String(row.id),
    subscription: row.subscription,
    deadLetterId: String(row.dead_letter_id),
    streamId: row.stream_id,
    eventId: row.event_id,
    action: row.action,
    status: row.status,
    requestedAt: new Date(row.requested_at),
    ...(row.claimed_by !== null ? { claimedBy: row.claimed_by } : {}),
    ...(row.done_at !== null ? { doneAt: new Date(row.done_at) } : {}),
    ...(row.handled !== null ? { handled: Number(row.handled) } : {}),
    ...(row.remaining !== null ? { remaining: Number(row.remaining) } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
    ...(row.error_code !== null ? { errorCode: row.error_code } : {}),
  };
}
