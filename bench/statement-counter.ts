/**
 * Counts the SQL statements a store sends, by wrapping its `SqlClient`: every `query` is one
 * statement, and every `transaction` two more (its BEGIN and its COMMIT or ROLLBACK, which the
 * driver wrappers send themselves). The same rule on PostgreSQL and PGlite, so their counts
 * compare. On PostgreSQL each statement is one round trip (a prepared statement's parse, bind
 * and execute go in one flush); not seen: the LISTEN of the wake-up connection and migrations
 * run before counting starts. `pg_stat_statements` would need a server restart
 * (`shared_preload_libraries`) on a machine other sessions share, so it is not used.
 */
import type { QueryOptions, SqlClient, SqlQueryable } from '../src/store/sql/sql-client.js';

/** Statements of one kind: how many, and the time spent waiting for them (overlapping when they run at once). */
export interface StatementTally {
  count: number;
  ms: number;
}

/** factum's own statements, by what they do (matched on the text with the schema taken out). */
const KNOWN: Array<[RegExp, string]> = [
  [/read_all_state\(\)/, '$all: appends in flight (read_all_state)'],
  [/^SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS head FROM position_seq$/, '$all: head position'],
  [/^SELECT global_position FROM events WHERE global_position >/, '$all: next positions'],
  [/FROM events e WHERE e\.global_position/, '$all: page of events'],
  [/FROM events e WHERE e\.stream_id/, 'stream read'],
  [/append_events\(/, 'append (append_events)'],
  [/^INSERT INTO events\b/, 'append (single-event INSERT)'],
  [/^UPDATE checkpoints\b/, 'checkpoint'],
  [/^SAVEPOINT factum_append/, 'savepoint of an append'],
  [/^RELEASE SAVEPOINT factum_append/, 'release of an append savepoint'],
  [/^SAVEPOINT factum_handler/, 'savepoint of a handler'],
  [/^INSERT INTO workflow_instances\b/, 'workflow instance row'],
  [/^SELECT min\(due_at\) AS due_at FROM workflow_timers/, 'timers: next due time'],
  [/FROM workflow_timers WHERE workflow = \$1 AND due_at <= /, 'timers: take a due timer'],
  [/FROM workflow_timers WHERE workflow = \$1 AND instance_id = \$2 FOR UPDATE$/, "timers: lock an instance's rows"],
  [/^INSERT INTO workflow_timers\b/, 'timers: schedule'],
  [/^DELETE FROM workflow_timers\b/, 'timers: cancel'],
  [/^DELETE FROM workflow_locks\b/, 'locks: release'],
];

/**
 * A statement's kind: what it does for factum's own statements (`stream read`, `checkpoint`,
 * `$all: page of events`, ...), else its verb and the first relation it names, without schema.
 *
 * @example
 * statementKind('UPDATE "s".checkpoints SET position = $2 WHERE name = $1') // 'checkpoint'
 * statementKind('SELECT * FROM "s".projection_rows') // 'SELECT projection_rows'
 */
export function statementKind(sql: string): string {
  const text = sql.trim().replace(/\s+/g, ' ').replace(/"[\w$]+"\./g, '');
  for (const [pattern, kind] of KNOWN) if (pattern.test(text)) return kind;
  const verb = (/^\w+/.exec(text)?.[0] ?? '?').toUpperCase();
  if (['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'NOTIFY', 'LISTEN'].includes(verb)) return verb;
  const relation = /\b(?:FROM|INTO|UPDATE|JOIN)\s+(?:\w+\.)?"?(\w+)"?/i.exec(text);
  return relation ? `${verb} ${relation[1]}` : verb;
}

/**
 * Wraps store clients and counts what they send while `counting` is on.
 *
 * @example
 * const counter = new StatementCounter()
 * const store = new PostgresEventStore(counter.wrap(postgresClient(pool, true)), { schema })
 * counter.counting = true
 * // ... work ...
 * console.log(counter.total, counter.byKind)
 */
export class StatementCounter {
  counting = false;
  total = 0;
  readonly byKind = new Map<string, StatementTally>();
  /** When set, the wall-clock time (`Date.now()`) each counted statement was sent, in order. */
  times: number[] | undefined;

  reset(): void {
    this.total = 0;
    this.byKind.clear();
    if (this.times) this.times = [];
  }

  /** A copy of the tallies, most frequent first. */
  snapshot(): { total: number; byKind: Array<{ kind: string } & StatementTally> } {
    const byKind = [...this.byKind].map(([kind, t]) => ({ kind, ...t })).sort((a, b) => b.count - a.count);
    return { total: this.total, byKind };
  }

  private record(kind: string, ms: number, sentAt = Date.now()): void {
    if (!this.counting) return;
    this.times?.push(sentAt);
    this.total++;
    const tally = this.byKind.get(kind) ?? { count: 0, ms: 0 };
    tally.count++;
    tally.ms += ms;
    this.byKind.set(kind, tally);
  }

  private async timed<T>(sql: string, run: () => Promise<T>): Promise<T> {
    const sentAt = Date.now();
    const started = performance.now();
    try {
      return await run();
    } finally {
      this.record(statementKind(sql), performance.now() - started, sentAt);
    }
  }

  wrap(client: SqlClient): SqlClient {
    const counted = (q: SqlQueryable): SqlQueryable => ({
      query: <Row>(sql: string, params?: unknown[], options?: QueryOptions) => this.timed(sql, () => q.query<Row>(sql, params, options)),
    });
    const outer = counted(client);
    return {
      ...client,
      query: outer.query,
      transaction: <T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> => {
        this.record('BEGIN', 0);
        let ok = false;
        return client
          .transaction(async (tx) => {
            const result = await fn(counted(tx));
            ok = true;
            return result;
          })
          .finally(() => this.record(ok ? 'COMMIT' : 'ROLLBACK', 0));
      },
      exec: (sql: string) => this.timed(sql, () => client.exec(sql)),
    };
  }
}
