import type { RecordedEvent } from '../core/message.js';
import type { SqlClient, SqlNames, SqlQueryable } from '../store/sql-access.js';
import type { Checkpoint, ConsumerStorage, ConsumerTx, DeadLetter, DeadLetterStatus, Failure, LeaseStorage } from './consumer-storage.js';
import { eventFromJson, eventToJson } from './event-json.js';
import { readCheckpoint, saveCheckpoint } from './sql-checkpoints.js';

interface DeadLetterRow {
  id: string | number;
  subscription: string;
  status: DeadLetterStatus;
  stream_id: string;
  global_position: string | number;
  event: Record<string, unknown>;
  error: string | null;
  error_code: string | null;
  error_stack: string | null;
  attempts: number;
  first_failed_at: Date | null;
  last_failed_at: Date | null;
}

/** Consumer tables on PostgreSQL or PGlite, beside the log (migrations/002-consumer-tables.ts). */
export class SqlConsumerStorage implements ConsumerStorage {
  readonly leases: LeaseStorage;

  constructor(
    readonly client: SqlClient,
    readonly names: SqlNames,
  ) {
    this.leases = new SqlLeaseStorage(client, names);
  }

  transaction<T>(fn: (tx: ConsumerTx) => Promise<T>): Promise<T> {
    return this.client.transaction((sql) => fn(new SqlConsumerTx(sql, this.names)));
  }

  readCheckpoint(name: string): Promise<Checkpoint | undefined> {
    return readCheckpoint(this.client, this.names, name);
  }

  async listDeadLetters(subscription: string, options: { streamId?: string; status?: DeadLetterStatus } = {}): Promise<DeadLetter[]> {
    const { rows } = await this.client.query<DeadLetterRow>(
      `SELECT * FROM ${this.names.s}dead_letters
        WHERE subscription = $1 AND ($2::text IS NULL OR stream_id = $2) AND ($3::text IS NULL OR status = $3)
        ORDER BY global_position, id`,
      [subscription, options.streamId ?? null, options.status ?? null],
    );
    return rows.map(toDeadLetter);
  }

  async blockedStreams(subscription: string): Promise<string[]> {
    const { rows } = await this.client.query<{ stream_id: string }>(
      `SELECT DISTINCT stream_id FROM ${this.names.s}dead_letters WHERE subscription = $1`,
      [subscription],
    );
    return rows.map((r) => r.stream_id);
  }

  async hasInbox(consumer: string, messageId: string): Promise<boolean> {
    const { rows } = await this.client.query(`SELECT 1 FROM ${this.names.s}inbox WHERE consumer = $1 AND message_id = $2`, [consumer, messageId]);
    return rows.length > 0;
  }
}

class SqlConsumerTx implements ConsumerTx {
  constructor(
    readonly sql: SqlQueryable,
    private readonly names: SqlNames,
  ) {}

  saveCheckpoint(name: string, expected: Checkpoint | undefined, position: bigint, options?: { relaxedDurability?: boolean }): Promise<Checkpoint | undefined> {
    return saveCheckpoint(this.sql, this.names, name, expected, position, options);
  }

  async recordInbox(consumer: string, messageId: string): Promise<boolean> {
    const { rows } = await this.sql.query(
      `INSERT INTO ${this.names.s}inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
      [consumer, messageId],
    );
    return rows.length === 1;
  }

  async recordInboxes(consumer: string, messageIds: string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const { rows } = await this.sql.query<{ message_id: string }>(
      `INSERT INTO ${this.names.s}inbox (consumer, message_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING message_id`,
      [consumer, messageIds],
    );
    return new Set(rows.map((r) => r.message_id));
  }

  async admitMessages(subscription: string, consumer: string, messages: Array<{ id: string; key: string }>): Promise<{ held: Set<string>; recorded: Set<string> }> {
    if (messages.length === 0) return { held: new Set(), recorded: new Set() };
    const { s } = this.names;
    const { rows } = await this.sql.query<{ held: boolean; value: string }>(
      `WITH held AS (SELECT DISTINCT stream_id FROM ${s}dead_letters WHERE subscription = $1 AND stream_id = ANY($4::text[])),
            recorded AS (
              INSERT INTO ${s}inbox (consumer, message_id)
              SELECT $2, m.id FROM unnest($3::text[], $4::text[]) AS m(id, key) WHERE m.key NOT IN (SELECT stream_id FROM held)
              ON CONFLICT DO NOTHING RETURNING message_id)
       SELECT true AS held, stream_id AS value FROM held UNION ALL SELECT false, message_id FROM recorded`,
      [subscription, consumer, messages.map((m) => m.id), messages.map((m) => m.key)],
    );
    const held = new Set<string>();
    const recorded = new Set<string>();
    for (const row of rows) (row.held ? held : recorded).add(row.value);
    return { held, recorded };
  }

  async forgetInbox(consumer: string, messageId: string): Promise<void> {
    await this.sql.query(`DELETE FROM ${this.names.s}inbox WHERE consumer = $1 AND message_id = $2`, [consumer, messageId]);
  }

  async addDeadLetter(subscription: string, status: DeadLetterStatus, event: RecordedEvent, failure?: Failure): Promise<void> {
    await this.sql.query(
      `INSERT INTO ${this.names.s}dead_letters
         (subscription, status, stream_id, global_position, event_id, event_type, event, error, attempts, first_failed_at, last_failed_at, error_code, error_stack)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (subscription, event_id) DO NOTHING`,
      [
        subscription,
        status,
        event.streamId,
        event.globalPosition.toString(),
        event.id,
        event.type,
        JSON.stringify(eventToJson(event)),
        failure?.error ?? null,
        failure?.attempts ?? 0,
        failure?.firstFailedAt ?? null,
        failure?.lastFailedAt ?? null,
        failure?.code ?? null,
        failure?.stack ?? null,
      ],
    );
  }

  async updateDeadLetter(id: string, change: { status?: 'dead' | 'retrying'; failure?: Failure }): Promise<void> {
    const f = change.failure;
    // A new failure replaces the last one whole: its code and stack too, even when absent.
    await this.sql.query(
      `UPDATE ${this.names.s}dead_letters SET status = coalesce($2, status), error = coalesce($3, error),
              attempts = coalesce($4, attempts), first_failed_at = coalesce(first_failed_at, $5), last_failed_at = coalesce($6, last_failed_at),
              error_code = CASE WHEN $3::text IS NULL THEN error_code ELSE $7 END,
              error_stack = CASE WHEN $3::text IS NULL THEN error_stack ELSE $8 END
        WHERE id = $1`,
      [id, change.status ?? null, f?.error ?? null, f?.attempts ?? null, f?.firstFailedAt ?? null, f?.lastFailedAt ?? null, f?.code ?? null, f?.stack ?? null],
    );
  }

  async deleteDeadLetter(id: string): Promise<void> {
    await this.sql.query(`DELETE FROM ${this.names.s}dead_letters WHERE id = $1`, [id]);
  }

  async lockKeys(scope: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // Taken in the order of their hashes, so that two transactions locking overlapping keys never
    // wait for each other crosswise; a hash collision only makes two keys wait for each other.
    await this.sql.query(
      `SELECT pg_advisory_xact_lock(hashtext($1), h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) k ORDER BY 1) locks`,
      [scope, keys],
    );
  }

  async heldKeys(subscription: string, keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const { rows } = await this.sql.query<{ stream_id: string }>(
      `SELECT DISTINCT stream_id FROM ${this.names.s}dead_letters WHERE subscription = $1 AND stream_id = ANY($2::text[])`,
      [subscription, keys],
    );
    return new Set(rows.map((r) => r.stream_id));
  }
}

/** Leases with expiry times set by the database clock, so processes' clocks never disagree. */
class SqlLeaseStorage implements LeaseStorage {
  constructor(
    private readonly client: SqlClient,
    private readonly names: SqlNames,
  ) {}

  async heartbeat(subscription: string, owner: string, partitions: number, ttlMs: number): Promise<{ members: number }> {
    const { s } = this.names;
    await this.client.query(
      `INSERT INTO ${s}partition_leases (subscription, partition) SELECT $1, p FROM generate_series(0, $2 - 1) p ON CONFLICT DO NOTHING`,
      [subscription, partitions],
    );
    await this.client.query(
      `INSERT INTO ${s}consumer_members (subscription, owner, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3 / 1000.0))
       ON CONFLICT (subscription, owner) DO UPDATE SET expires_at = excluded.expires_at`,
      [subscription, owner, ttlMs],
    );
    const { rows } = await this.client.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM ${s}consumer_members WHERE subscription = $1 AND expires_at > now()`,
      [subscription],
    );
    return { members: Number(rows[0]!.n) };
  }

  async renew(subscription: string, owner: string, ttlMs: number): Promise<number[]> {
    const { rows } = await this.client.query<{ partition: number }>(
      `UPDATE ${this.names.s}partition_leases SET expires_at = now() + make_interval(secs => $3 / 1000.0)
        WHERE subscription = $1 AND owner = $2 AND expires_at > now() RETURNING partition`,
      [subscription, owner, ttlMs],
    );
    return rows.map((r) => Number(r.partition)).sort((a, b) => a - b);
  }

  async claim(subscription: string, owner: string, count: number, ttlMs: number): Promise<number[]> {
    if (count <= 0) return [];
    const { s } = this.names;
    const { rows } = await this.client.query<{ partition: number }>(
      `UPDATE ${s}partition_leases l SET owner = $2, expires_at = now() + make_interval(secs => $4 / 1000.0)
        WHERE l.subscription = $1 AND l.partition IN (
          SELECT partition FROM ${s}partition_leases
           WHERE subscription = $1 AND (owner IS NULL OR expires_at <= now())
           ORDER BY partition LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING l.partition`,
      [subscription, owner, count, ttlMs],
    );
    return rows.map((r) => Number(r.partition)).sort((a, b) => a - b);
  }

  async release(subscription: string, owner: string, partitions: number[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.client.query(
      `UPDATE ${this.names.s}partition_leases SET owner = NULL, expires_at = '-infinity'
        WHERE subscription = $1 AND owner = $2 AND partition = ANY($3::int[])`,
      [subscription, owner, partitions],
    );
  }

  async leave(subscription: string, owner: string): Promise<void> {
    await this.client.query(`DELETE FROM ${this.names.s}consumer_members WHERE subscription = $1 AND owner = $2`, [subscription, owner]);
  }
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: String(row.id),
    subscription: row.subscription,
    status: row.status,
    streamId: row.stream_id,
    globalPosition: BigInt(row.global_position),
    event: eventFromJson(row.event),
    ...(row.error !== null ? { error: row.error } : {}),
    ...(row.error_code !== null && row.error_code !== undefined ? { errorCode: row.error_code } : {}),
    ...(row.error_stack !== null && row.error_stack !== undefined ? { errorStack: row.error_stack } : {}),
    attempts: Number(row.attempts),
    ...(row.first_failed_at ? { firstFailedAt: new Date(row.first_failed_at) } : {}),
    ...(row.last_failed_at ? { lastFailedAt: new Date(row.last_failed_at) } : {}),
  };
}
