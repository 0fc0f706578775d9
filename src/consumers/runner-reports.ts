import type { EventStore } from '../core/event-store.js';
import { THIS_PROCESS } from '../core/this-process.js';
import { sqlAccess, type SqlAccess } from '../store/sql-access.js';

/** What a runner without a checkpoint (a broker consumer) says of itself (migration 010). */
export interface RunnerReport {
  name: string;
  /** The `kind` label of its metrics: `consumer` for a broker consumer. */
  kind: string;
  /** `host:pid` of the process that reported it. */
  owner: string;
  /** Its state in that process when it reported: `running`, `stopped`, ... */
  state: string;
  lagEvents: number;
  lagSeconds: number;
  /** Messages the reporting process settled since it started (handled, duplicates, dead-lettered, parked): its progress. */
  settled: number;
  /** What the runner reads: for a broker consumer `{ topic, group, system }`. */
  details: Record<string, string>;
  reportedAt: Date;
}

interface ReportRow {
  name: string;
  kind: string;
  owner: string;
  state: string;
  lag_events: string | number;
  lag_seconds: number;
  settled: string | number;
  details: Record<string, string> | string;
  reported_at: Date | string;
}

/**
 * The runner reports of a SQL store: written by running broker consumers, read by `factum
 * runners`, `factum serve` and the dashboard. One upsert per report, so a report costs one
 * statement whatever the number of processes.
 *
 * @example
 * const reports = RunnerReports.of(store) // undefined on the memory store
 * for (const report of (await reports?.list()) ?? []) console.log(report.name, report.lagEvents, report.reportedAt)
 */
export class RunnerReports {
  private constructor(private readonly sql: SqlAccess) {}

  /** The reports of `store`, or undefined when it keeps no tables (the memory store). */
  static of(store: EventStore): RunnerReports | undefined {
    const sql = sqlAccess(store);
    return sql ? new RunnerReports(sql) : undefined;
  }

  /** Writes this process's report of a runner in place of the last one; `STORAGE_ERROR` when the database fails. */
  async write(report: Omit<RunnerReport, 'owner' | 'reportedAt'>): Promise<void> {
    try {
      await this.sql.client.query(
        `INSERT INTO ${this.sql.names.s}runner_reports (name, kind, owner, state, lag_events, lag_seconds, settled, details, reported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, owner = EXCLUDED.owner, state = EXCLUDED.state, lag_events = EXCLUDED.lag_events,
           lag_seconds = EXCLUDED.lag_seconds, settled = EXCLUDED.settled, details = EXCLUDED.details, reported_at = EXCLUDED.reported_at`,
        [report.name, report.kind, THIS_PROCESS, report.state, report.lagEvents, report.lagSeconds, report.settled, JSON.stringify(report.details)],
      );
    } catch (error) {
      throw this.sql.storageError(`Writing the report of runner "${report.name}"`, error);
    }
  }

  /** Every report, by name. */
  async list(): Promise<RunnerReport[]> {
    try {
      const { rows } = await this.sql.client.query<ReportRow>(`SELECT * FROM ${this.sql.names.s}runner_reports ORDER BY name`);
      return rows.map((row) => ({
        name: row.name,
        kind: row.kind,
        owner: row.owner,
        state: row.state,
        lagEvents: Number(row.lag_events),
        lagSeconds: Number(row.lag_seconds),
        settled: Number(row.settled),
        details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, string>) : row.details,
        reportedAt: new Date(row.reported_at),
      }));
    } catch (error) {
      throw this.sql.storageError('Reading the runner reports', error);
    }
  }
}
