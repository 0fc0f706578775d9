import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import type { RecordedEvent } from '../core/message.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import { sqlAccess } from '../store/sql-access.js';
import { ensureProjectionTables } from './projection-runner.js';
import { applyProjection, tableNamer, type Projection } from './projection.js';

/** Where a rebuild stands. */
export interface RebuildProgress {
  phase: 'replaying' | 'swapping' | 'done';
  /** Events applied to the fresh copy by this run. */
  eventsDone: number;
  /** Everything up to here is in the fresh copy. */
  position: bigint;
  headPosition: bigint;
  /** Events per second in this run. */
  ratePerSecond: number;
  /** Estimated seconds to reach the head at the current pace (undefined before any progress). */
  etaSeconds?: number;
  /** Where this run began: above 0 when it resumed a rebuild that crashed or was stopped. */
  resumedFrom: bigint;
}

/** Options of `rebuildProjection`. */
export interface RebuildOptions {
  /** Events per transaction; 1,000 by default. */
  batchSize?: number;
  /** Called after each batch, at most every `progressEveryMs` (500 ms by default), and at the end. */
  onProgress?: (progress: RebuildProgress) => void;
  progressEveryMs?: number;
  /** Stops between two transactions; the next call resumes from there. */
  signal?: AbortSignal;
  /**
   * The projection runs inline (`InlineProjections`): its tables are written by appends, with no
   * checkpoint to meet. The swap then locks the tables, which waits out every append that wrote
   * them, and applies the events committed since the copy's last batch inside its own transaction;
   * appends still open write the new tables once the swap commits.
   */
  inline?: boolean;
}

/** What a rebuild did. */
export interface RebuildResult extends RebuildProgress {
  /** False when stopped by `signal` before the swap (call again to resume). */
  swapped: boolean;
}

/**
 * Rebuilds a projection's read model from the log while the old one keeps serving: replays
 * every event into fresh copies of its tables (`<table>__rebuild`), saving its own checkpoint in
 * each batch's transaction (so a crash resumes where it stopped), then swaps the copies in within
 * one transaction. The swap locks the live tables, brings the copy exactly to the live
 * projection's checkpoint (or moves that checkpoint up to the copy's), renames, and bumps the
 * checkpoint's generation so a running `ProjectionRunner` reloads instead of applying anything
 * twice. Inline projections pass `inline: true` (see the option). SQL stores only: the memory
 * store has no tables to copy.
 *
 * @example
 * const result = await rebuildProjection(store, orderTotals, {
 *   onProgress: (p) => console.log(`${p.eventsDone} events, ${p.ratePerSecond.toFixed(0)}/s, ${p.etaSeconds?.toFixed(0)} s left`),
 * })
 */
export async function rebuildProjection(store: EventStore, projection: Projection, options: RebuildOptions = {}): Promise<RebuildResult> {
  // Reads go through `store` (a schema-registered store upcasts); tables through its SQL access.
  const sql = sqlAccess(store);
  if (!sql) throw new FactumError('INVALID_ARGUMENT', 'rebuildProjection needs a SQL store (PostgreSQL or PGlite)');
  const { client, names } = sql;
  const { s } = names;
  const suffix = '__rebuild';
  const rebuildName = `${projection.name}::rebuild`;
  const copy = tableNamer(projection, s, suffix);
  const live = tableNamer(projection, s);
  const tables = Object.keys(projection.tables ?? {});
  const batchSize = options.batchSize ?? 1000;

  const stored = await readPosition(client, s, rebuildName);
  let position: bigint = stored ?? 0n;
  if (stored === undefined) {
    // A fresh start: drop any copy left by an earlier run that never stored a checkpoint.
    await client.transaction(async (tx) => {
      for (const table of tables) await tx.query(`DROP TABLE IF EXISTS ${copy(table)}`);
      await ensureProjectionTables(tx, s, projection, suffix);
      await tx.query(`INSERT INTO ${s}checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO UPDATE SET position = 0`, [rebuildName]);
    });
  }
  const resumedFrom = position;
  const started = Date.now();
  let eventsDone = 0;
  let head = position;
  let lastReport = 0;
  const progress = (phase: RebuildProgress['phase']): RebuildProgress => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const positionRate = Number(position - resumedFrom) / seconds;
    return {
      phase,
      eventsDone,
      position,
      headPosition: head,
      ratePerSecond: eventsDone / seconds,
      ...(positionRate > 0 ? { etaSeconds: Number(head > position ? head - position : 0n) / positionRate } : {}),
      resumedFrom,
    };
  };
  const report = (phase: RebuildProgress['phase'], force = false): void => {
    if (!options.onProgress) return;
    if (!force && Date.now() - lastReport < (options.progressEveryMs ?? 500)) return;
    lastReport = Date.now();
    options.onProgress(progress(phase));
  };

  type Page = Awaited<ReturnType<EventStore['readAllPage']>>;
  /** Reads the next page after `from`. Outside any transaction: PGlite runs one statement at a time. */
  const read = async (from: bigint): Promise<Page> => {
    const page = await store.readAllPage({ types: projection.eventTypes, after: from, limit: batchSize });
    head = page.headPosition;
    return page;
  };
  /** Applies a page to the copy inside `tx`, stopping at `until` if given; returns the new position. */
  const apply = async (tx: SqlQueryable, page: Page, until?: bigint): Promise<bigint> => {
    if (projection.batchHandler) {
      const events = until === undefined ? page.events : page.events.filter((e) => e.globalPosition <= until);
      if (events.length > 0) await projection.batchHandler(events, { sql: tx, subscription: rebuildName, attempt: 1, table: copy });
      eventsDone += events.length;
      return until !== undefined && page.position > until ? until : page.position;
    }
    for (const event of page.events) {
      if (until !== undefined && event.globalPosition > until) return until;
      await applyProjection(projection, event, { sql: tx, subscription: rebuildName, attempt: 1, table: copy });
      eventsDone++;
    }
    return until !== undefined && page.position > until ? until : page.position;
  };
  const saveRebuildCheckpoint = async (tx: SqlQueryable, from: bigint, to: bigint): Promise<void> => {
    if (to === from) return;
    const { rows } = await tx.query(`UPDATE ${s}checkpoints SET position = $2, updated_at = now() WHERE name = $1 AND position = $3 RETURNING 1`, [
      rebuildName,
      to.toString(),
      from.toString(),
    ]);
    if (rows.length !== 1) throw new FactumError('CHECKPOINT_CONFLICT', `Another rebuild of "${projection.name}" is running`, { details: { name: rebuildName } });
  };
  /** One batch in one transaction with the rebuild's checkpoint; true when near the head. */
  const step = async (until?: bigint): Promise<boolean> => {
    const from = position;
    const page = await read(from);
    const before = eventsDone;
    try {
      position = await client.transaction(async (tx) => {
        // A copy being rebuilt is re-derivable: no need to wait for each batch's WAL flush.
        await tx.query('SET LOCAL synchronous_commit TO OFF');
        const to = await apply(tx, page, until);
        await saveRebuildCheckpoint(tx, from, to);
        return to;
      });
    } catch (error) {
      eventsDone = before;
      throw error;
    }
    report('replaying');
    // A hole not yet proven final (an append in flight): look again shortly, never skip it.
    if (position === from) await new Promise((resolve) => setTimeout(resolve, 10));
    // Close enough to swap: the swap brings the copy to the live checkpoint, so chasing a head
    // that a steady load keeps moving is never needed.
    return page.events.length < batchSize && (page.position === from || page.position >= page.headPosition || page.waitingOn !== undefined);
  };

  // Replay into the copy, one transaction per batch, checkpoint included.
  for (;;) {
    if (options.signal?.aborted) return { ...progress('replaying'), swapped: false };
    if (await step()) break;
  }

  // The swap: one transaction, the live tables locked against the live runner for its length.
  report('swapping', true);
  const liveCheckpoint = async (on: SqlQueryable, lock: boolean): Promise<bigint | undefined> => {
    const { rows } = await on.query<{ position: string | number }>(`SELECT position FROM ${s}checkpoints WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [projection.name]);
    return rows[0] ? BigInt(rows[0].position) : undefined;
  };
  const behindLive = Symbol('behind live');
  for (;;) {
    // Catch up to the live checkpoint unlocked first, so the locked part stays short.
    for (let liveAt = await liveCheckpoint(client, false); liveAt !== undefined && position < liveAt; ) await step(liveAt);
    try {
      await client.transaction(async (tx) => {
        for (const table of tables) {
          const { rows } = await tx.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [live(table)]);
          if (rows[0]?.found) await tx.query(`LOCK TABLE ${live(table)} IN ACCESS EXCLUSIVE MODE`);
        }
        if (options.inline) {
          // Every transaction that wrote the tables has ended (we hold their locks), and those still
          // open will write the new tables after the swap. So the committed events after the copy's
          // position are exactly what it lacks: read them in this transaction's snapshot, directly
          // from the log (a gap-safe read would wait for those open appends, which wait for us).
          for (;;) {
            const { rows: events } = await tx.query<RecordedEvent>(
              `SELECT ${sql.eventColumns}
                 FROM ${s}events e WHERE global_position > $1 AND event_type = ANY($2) ORDER BY global_position LIMIT $3`,
              [position.toString(), projection.eventTypes, batchSize],
              { parsers: sql.eventParsers },
            );
            if (events.length === 0) break;
            position = await apply(tx, { events, position: events[events.length - 1]!.globalPosition, headPosition: head });
          }
        }
        const liveAt = options.inline ? undefined : await liveCheckpoint(tx, true);
        // Bring the copy exactly to where the live read model is, so neither loses nor repeats an event.
        // PostgreSQL reads the log on other connections meanwhile; PGlite has one, so it goes round again.
        while (liveAt !== undefined && position < liveAt) {
          if (!storeCapabilities(store).concurrentSessions) throw behindLive;
          const from = position;
          const page = await read(from);
          position = await apply(tx, page, liveAt);
          if (position === from) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        if (options.inline) {
          // No checkpoint: inline projections have none.
        } else if (liveAt === undefined) {
          await tx.query(`INSERT INTO ${s}checkpoints (name, position) VALUES ($1, $2)`, [projection.name, position.toString()]);
        } else {
          await tx.query(`UPDATE ${s}checkpoints SET position = $2, generation = generation + 1, updated_at = now() WHERE name = $1`, [projection.name, position.toString()]);
        }
        for (const table of tables) {
          await tx.query(`DROP TABLE IF EXISTS ${live(table)}`);
          await tx.query(`ALTER TABLE ${copy(table)} RENAME TO "${table}"`);
        }
        await tx.query(`DELETE FROM ${s}checkpoints WHERE name = $1`, [rebuildName]);
      });
      break;
    } catch (error) {
      if (error !== behindLive) throw error;
      // The rolled-back part of the copy is replayed again from the stored rebuild checkpoint.
      position = (await readPosition(client, s, rebuildName)) ?? position;
    }
  }
  report('done', true);
  return { ...progress('done'), swapped: true };
}

async function readPosition(on: SqlQueryable, s: string, name: string): Promise<bigint | undefined> {
  const { rows } = await on.query<{ position: string | number }>(`SELECT position FROM ${s}checkpoints WHERE name = $1`, [name]);
  return rows[0] ? BigInt(rows[0].position) : undefined;
}


