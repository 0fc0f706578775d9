import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { sqlAccess } from '../store/sql-access.js';
import { listCheckpoints } from './sql-checkpoints.js';

/** One checkpointed runner as the database shows it, whichever process runs it (or none). */
export interface RunnerOverview {
  /** The checkpoint's name: a subscription's or projection's name, `relay:<name>`, `<name>#<partition>/<count>`. */
  name: string;
  kind: 'subscription' | 'relay' | 'partition';
  position: bigint;
  /** When the checkpoint last moved. */
  updatedAt: Date;
  /**
   * Events in the log after the checkpoint. An upper bound for a runner with a filter: it counts
   * every event, also those the runner would skip.
   */
  lagEvents: number;
  /** Age of the oldest event after the checkpoint (0 when caught up), in seconds. */
  lagSeconds: number;
  /** Failed events (dead, or with retries under way) and the events parked behind them. */
  deadLetters: number;
  parked: number;
}

/**
 * Every checkpointed runner of a SQL store with its lag and dead letters, read from the tables
 * beside the log (the CLI's `factum runners`). The memory store keeps its checkpoints in the
 * process that runs them: `INVALID_ARGUMENT`.
 *
 * @example
 * for (const runner of await runnerOverview(store)) console.log(runner.name, runner.lagEvents, runner.lagSeconds)
 */
export async function runnerOverview(store: EventStore): Promise<RunnerOverview[]> {
  const sql = sqlAccess(store);
  if (!sql) throw new FactumError('INVALID_ARGUMENT', 'Only SQL stores (PostgreSQL, PGlite) keep their runners in tables an operator can read');
  const { s } = sql.names;
  try {
    const checkpoints = await listCheckpoints(sql.client, sql.names);
    const letters = await sql.client.query<{ subscription: string; status: string; count: string | number }>(
      `SELECT subscription, status, count(*) AS count FROM ${s}dead_letters GROUP BY subscription, status`,
    );
    const countOf = (name: string, status: string) => Number(letters.rows.find((r) => r.subscription === name && r.status === status)?.count ?? 0);
    const overview: RunnerOverview[] = [];
    for (const checkpoint of checkpoints) {
      const { rows } = await sql.client.query<{ lag: string | number; oldest: Date | string | null }>(
        `SELECT count(*) AS lag, min(recorded_at) AS oldest FROM ${s}events WHERE global_position > $1`,
        [checkpoint.position.toString()],
      );
      const oldest = rows[0]?.oldest;
      const letterName = checkpoint.name.replace(/#\d+\/\d+$/, '');
      overview.push({
        name: checkpoint.name,
        kind: checkpoint.name.startsWith('relay:') ? 'relay' : /#\d+\/\d+$/.test(checkpoint.name) ? 'partition' : 'subscription',
        position: checkpoint.position,
        updatedAt: checkpoint.updatedAt,
        lagEvents: Number(rows[0]?.lag ?? 0),
        lagSeconds: oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0,
        // Dead letters are kept under the subscription's name, a partition's under the whole subscription's.
        deadLetters: countOf(letterName, 'dead') + countOf(letterName, 'retrying'),
        parked: countOf(letterName, 'parked'),
      });
    }
    return overview;
  } catch (error) {
    throw sql.storageError('Reading the runners', error);
  }
}
