import { FactumError, isFactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { sqlAccess } from '../store/sql-access.js';
import { CONSUMER_DEAD_LETTERS } from './dead-letter-requests.js';
import { RunnerReports } from './runner-reports.js';
import { listCheckpoints } from './sql-checkpoints.js';

/** One runner as the database shows it, whichever process runs it (or none). */
export interface RunnerOverview {
  /** The checkpoint's name (a subscription's or projection's name, `relay:<name>`, `<name>#<partition>/<count>`), or a broker consumer's. */
  name: string;
  kind: 'subscription' | 'relay' | 'partition' | 'consumer';
  /**
   * Its checkpoint; for a broker consumer, which has none (its place is in the broker), the
   * messages its reporting process settled since it started.
   */
  position: bigint;
  /** When the checkpoint last moved; for a broker consumer, when it last reported. */
  updatedAt: Date;
  /** A broker consumer's state as it last reported it (`running`, `stopped`), and who reported it (`host:pid`). */
  state?: string;
  reportedBy?: string;
  /** A broker consumer's topic, group and broker (`messaging.system`). */
  details?: Record<string, string>;
  /**
   * Events in the log after the checkpoint. An upper bound for a runner with a filter: it counts
   * every event, also those the runner would skip. For a broker consumer, the messages its group
   * had not settled when it last reported (`EventConsumer.lag`).
   */
  lagEvents: number;
  /** Age of the oldest event after the checkpoint (0 when caught up), in seconds; a broker consumer's as it last reported. */
  lagSeconds: number;
  /** Failed events (dead, or with retries under way) and the events parked behind them. */
  deadLetters: number;
  parked: number;
}

/**
 * Every checkpointed runner of a SQL store with its lag and dead letters, read from the tables
 * beside the log (the CLI's `factum runners`), then every broker consumer with what it last
 * reported of itself (`EventConsumer`'s `reportIntervalMs`). The memory store keeps its checkpoints in the
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
    for (const report of (await RunnerReports.of(store)?.list()) ?? []) {
      const letterName = `${CONSUMER_DEAD_LETTERS}${report.name}`;
      overview.push({
        name: report.name,
        kind: 'consumer',
        position: BigInt(report.settled),
        updatedAt: report.reportedAt,
        state: report.state,
        reportedBy: report.owner,
        details: report.details,
        lagEvents: report.lagEvents,
        lagSeconds: report.lagSeconds,
        deadLetters: countOf(letterName, 'dead') + countOf(letterName, 'retrying'),
        parked: countOf(letterName, 'parked'),
      });
    }
    return overview;
  } catch (error) {
    if (isFactumError(error)) throw error;
    throw sql.storageError('Reading the runners', error);
  }
}
