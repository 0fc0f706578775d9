import { deleteCheckpoint, readCheckpoint, replaceCheckpoint } from '../consumers/sql-checkpoints.js';
import type { RecordedEvent } from '../core/message.js';
import { sleep } from '../core/sleep.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import type { RebuildCopy } from './rebuild-copy.js';
import { replayBatch } from './rebuild-replay.js';

/** Thrown inside the swap's transaction to roll it back and go round again (PGlite). */
const behindLive = Symbol('behind live');

/**
 * The swap phase: in one transaction, with the live tables locked against the live runner for
 * its length, brings the copy exactly to the live read model, moves the live checkpoint to it
 * (bumping its generation), renames the copy in and drops the copy's checkpoint. A crash before
 * the commit leaves the copy and its checkpoint as the replay left them.
 */
export async function swapCopyIn(copy: RebuildCopy, inline: boolean): Promise<void> {
  const { client, names } = copy.sql;
  for (;;) {
    // Catch up to the live checkpoint unlocked first, so the locked part stays short.
    const liveAt = (await readCheckpoint(client, names, copy.projection.name))?.position;
    while (liveAt !== undefined && copy.position < liveAt) await replayBatch(copy, liveAt);
    try {
      await copy.sql.transaction(async (tx) => {
        await lockLiveTables(tx, copy);
        if (inline) {
          await applyCommittedSinceCopy(tx, copy);
        } else {
          const live = await readCheckpoint(tx, names, copy.projection.name, { forUpdate: true });
          if (live) await catchUpLocked(tx, copy, live.position);
          await replaceCheckpoint(tx, names, copy.projection.name, copy.position);
        }
        for (const table of copy.tables) {
          await tx.query(`DROP TABLE IF EXISTS ${copy.liveTable(table)}`);
          await tx.query(`ALTER TABLE ${copy.copyTable(table)} RENAME TO "${table}"`);
        }
        await deleteCheckpoint(tx, names, copy.checkpoint.name);
      });
      return;
    } catch (error) {
      if (error !== behindLive) throw error;
      // The rolled-back part of the copy is replayed again from its stored checkpoint.
      copy.position = copy.checkpoint.checkpoint!.position;
    }
  }
}

async function lockLiveTables(tx: SqlQueryable, copy: RebuildCopy): Promise<void> {
  for (const table of copy.tables) {
    const { rows } = await tx.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [copy.liveTable(table)]);
    if (rows[0]?.found) await tx.query(`LOCK TABLE ${copy.liveTable(table)} IN ACCESS EXCLUSIVE MODE`);
  }
}

/**
 * Inline projections have no checkpoint to meet. Every transaction that wrote the tables has
 * ended (we hold their locks), and those still open will write the new tables after the swap. So
 * the committed events after the copy's position are exactly what it lacks: read them in this
 * transaction's snapshot, directly from the log (a gap-safe read would wait for those open
 * appends, which wait for us).
 */
async function applyCommittedSinceCopy(tx: SqlQueryable, copy: RebuildCopy): Promise<void> {
  const { names, eventColumns, eventParsers } = copy.sql;
  for (;;) {
    const { rows: events } = await tx.query<RecordedEvent>(
      `SELECT ${eventColumns}
         FROM ${names.s}events e WHERE global_position > $1 AND event_type = ANY($2) ORDER BY global_position LIMIT $3`,
      [copy.position.toString(), copy.projection.eventTypes, copy.batchSize],
      { parsers: eventParsers },
    );
    if (events.length === 0) return;
    copy.position = await copy.apply(tx, { events, position: events[events.length - 1]!.globalPosition, headPosition: copy.headPosition });
  }
}

/**
 * Brings the copy exactly to where the live read model is, so neither loses nor repeats an
 * event. PostgreSQL reads the log on other connections meanwhile; PGlite has one, so it rolls
 * back and goes round again.
 */
async function catchUpLocked(tx: SqlQueryable, copy: RebuildCopy, liveAt: bigint): Promise<void> {
  while (copy.position < liveAt) {
    if (!storeCapabilities(copy.store).concurrentSessions) throw behindLive;
    const from = copy.position;
    copy.position = await copy.apply(tx, await copy.read(from), liveAt);
    if (copy.position === from) await sleep(10);
  }
}
