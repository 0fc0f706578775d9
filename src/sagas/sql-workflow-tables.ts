import type { JsonValue } from '../core/message.js';
import type { SqlClient, SqlNames, SqlQueryable } from '../store/sql-access.js';
import { lockTimerName } from './workflow-log.js';
import type { LockOutcome, LockRequest, SemanticLock, TimerSignal, WorkflowInstanceRow, WorkflowTables, WorkflowTableWrites, WorkflowTimer } from './workflow-tables.js';

interface TimerRow {
  workflow: string;
  instance_id: string;
  timer: string;
  due_at: Date | string;
  fire_id: string;
  payload: JsonValue | null;
}

interface InstanceRow {
  workflow: string;
  instance_id: string;
  status: WorkflowInstanceRow['status'];
  phase: string | null;
  version: number;
  started_at: Date | string;
  updated_at: Date | string;
}

interface LockRow {
  resource: string;
  workflow: string;
  instance_id: string;
  state: SemanticLock['state'];
  since: Date | string;
  expires_at: Date | string | null;
}

const TIMER_COLUMNS = 'workflow, instance_id, timer, due_at, fire_id, payload';
const LOCK_COLUMNS = 'resource, workflow, instance_id, state, since, expires_at';

/** The workflow tables on PostgreSQL or PGlite (migrations/006-workflow-tables.ts). */
export class SqlWorkflowTables implements WorkflowTables {
  constructor(
    private readonly client: SqlClient,
    private readonly names: SqlNames,
    private readonly signal: TimerSignal,
  ) {}

  writes(sql: SqlQueryable | undefined): WorkflowTableWrites {
    return new SqlWorkflowWrites(sql ?? this.client, this.names, this.signal);
  }

  async nextDueAt(workflow: string): Promise<Date | undefined> {
    const { rows } = await this.client.query<{ due_at: Date | string }>(`SELECT min(due_at) AS due_at FROM ${this.names.s}workflow_timers WHERE workflow = $1`, [workflow]);
    const due = rows[0]?.due_at;
    return due ? new Date(due) : undefined;
  }

  async timers(workflow: string, options: { instanceId?: string; limit?: number } = {}): Promise<WorkflowTimer[]> {
    const { rows } = await this.client.query<TimerRow>(
      `SELECT ${TIMER_COLUMNS} FROM ${this.names.s}workflow_timers WHERE workflow = $1 AND ($2::text IS NULL OR instance_id = $2) ORDER BY due_at, instance_id, timer LIMIT $3`,
      [workflow, options.instanceId ?? null, options.limit ?? null],
    );
    return rows.map(toTimer);
  }

  async instances(workflow: string, options: { status?: WorkflowInstanceRow['status']; phase?: string; limit?: number } = {}): Promise<WorkflowInstanceRow[]> {
    const { rows } = await this.client.query<InstanceRow>(
      `SELECT * FROM ${this.names.s}workflow_instances WHERE workflow = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR phase = $3) ORDER BY updated_at, instance_id LIMIT $4`,
      [workflow, options.status ?? null, options.phase ?? null, options.limit ?? null],
    );
    return rows.map(toInstance);
  }

  async instance(workflow: string, instanceId: string): Promise<WorkflowInstanceRow | undefined> {
    const { rows } = await this.client.query<InstanceRow>(`SELECT * FROM ${this.names.s}workflow_instances WHERE workflow = $1 AND instance_id = $2`, [workflow, instanceId]);
    return rows[0] ? toInstance(rows[0]) : undefined;
  }

  async locks(options: { workflow?: string; resource?: string; instanceId?: string } = {}): Promise<SemanticLock[]> {
    const { rows } = await this.client.query<LockRow>(
      `SELECT ${LOCK_COLUMNS} FROM ${this.names.s}workflow_locks WHERE ($1::text IS NULL OR workflow = $1) AND ($2::text IS NULL OR resource = $2) AND ($3::text IS NULL OR instance_id = $3)
        ORDER BY since, resource, workflow, instance_id`,
      [options.workflow ?? null, options.resource ?? null, options.instanceId ?? null],
    );
    return rows.map(toLock);
  }
}

class SqlWorkflowWrites implements WorkflowTableWrites {
  private scheduled = false;

  constructor(
    private readonly sql: SqlQueryable,
    private readonly names: SqlNames,
    private readonly signal: TimerSignal,
  ) {}

  async scheduleTimer(t: WorkflowTimer): Promise<void> {
    this.scheduled = true;
    await this.sql.query(
      `INSERT INTO ${this.names.s}workflow_timers (${TIMER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (workflow, instance_id, timer) DO UPDATE SET due_at = excluded.due_at, fire_id = excluded.fire_id, payload = excluded.payload, scheduled_at = now()`,
      [t.workflow, t.instanceId, t.timer, t.dueAt, t.fireId, t.payload === undefined ? null : JSON.stringify(t.payload)],
    );
  }

  async cancelTimer(workflow: string, instanceId: string, timer: string): Promise<void> {
    await this.sql.query(`DELETE FROM ${this.names.s}workflow_timers WHERE workflow = $1 AND instance_id = $2 AND timer = $3`, [workflow, instanceId, timer]);
  }

  async saveInstance(row: Omit<WorkflowInstanceRow, 'startedAt' | 'updatedAt'>): Promise<void> {
    await this.sql.query(
      `INSERT INTO ${this.names.s}workflow_instances (workflow, instance_id, status, phase, version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (workflow, instance_id) DO UPDATE SET status = excluded.status, phase = excluded.phase, version = excluded.version, updated_at = now()
        WHERE ${this.names.s}workflow_instances.version < excluded.version`,
      [row.workflow, row.instanceId, row.status, row.phase ?? null, row.version],
    );
  }

  async lockTimers(workflow: string, instanceId: string): Promise<void> {
    await this.sql.query(`SELECT 1 FROM ${this.names.s}workflow_timers WHERE workflow = $1 AND instance_id = $2 FOR UPDATE`, [workflow, instanceId]);
  }

  async claimDueTimer(workflow: string, now: Date): Promise<WorkflowTimer | undefined> {
    // SKIP LOCKED: a timer another service is firing is passed by, never fired twice nor waited for.
    const { rows } = await this.sql.query<TimerRow>(
      `SELECT ${TIMER_COLUMNS} FROM ${this.names.s}workflow_timers WHERE workflow = $1 AND due_at <= $2
        ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [workflow, now],
    );
    return rows[0] ? toTimer(rows[0]) : undefined;
  }

  async deleteTimer(t: WorkflowTimer): Promise<void> {
    await this.sql.query(`DELETE FROM ${this.names.s}workflow_timers WHERE workflow = $1 AND instance_id = $2 AND timer = $3 AND fire_id = $4`, [t.workflow, t.instanceId, t.timer, t.fireId]);
  }

  async acquireLock(r: LockRequest): Promise<LockOutcome> {
    const t = `${this.names.s}workflow_locks`;
    const expiresAt = r.expiresAfterMs !== undefined ? new Date(r.now.getTime() + r.expiresAfterMs) : null;
    // A lapsed hold of another instance is over: its holder's later release finds no row of its own.
    await this.sql.query(`DELETE FROM ${t} WHERE resource = $1 AND state = 'held' AND expires_at < $2 AND NOT (workflow = $3 AND instance_id = $4)`, [r.resource, r.now, r.workflow, r.instanceId]);
    // DO NOTHING on either key: the resource's holder (waited for while uncommitted) or this instance's own row.
    const inserted = await this.sql.query(
      `INSERT INTO ${t} (resource, workflow, instance_id, state, since, expires_at, expires_after_ms) VALUES ($1, $2, $3, 'held', $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1 AS one`,
      [r.resource, r.workflow, r.instanceId, r.now, expiresAt, r.expiresAfterMs ?? null],
    );
    if (inserted.rows.length > 0) return { acquired: true, ...(expiresAt ? { expiresAt } : {}) };
    const { rows } = await this.sql.query<LockRow>(
      `SELECT ${LOCK_COLUMNS} FROM ${t} WHERE resource = $1 AND (state = 'held' OR (workflow = $2 AND instance_id = $3)) FOR UPDATE`,
      [r.resource, r.workflow, r.instanceId],
    );
    const locks = rows.map(toLock);
    const holder = locks.find((l) => l.state === 'held');
    const own = locks.find((l) => l.workflow === r.workflow && l.instanceId === r.instanceId);
    if (holder && holder === own) return { acquired: true, ...(holder.expiresAt ? { expiresAt: holder.expiresAt } : {}) };
    if (!holder) {
      // In line, and nobody holds it (the holder's hold lapsed): this instance takes it.
      await this.sql.query(`UPDATE ${t} SET state = 'held', since = $4, expires_at = $5, expires_after_ms = $6 WHERE resource = $1 AND workflow = $2 AND instance_id = $3`, [r.resource, r.workflow, r.instanceId, r.now, expiresAt, r.expiresAfterMs ?? null]);
      return { acquired: true, ...(expiresAt ? { expiresAt } : {}) };
    }
    if (r.policy === 'queue' && !own) {
      await this.sql.query(`INSERT INTO ${t} (resource, workflow, instance_id, state, since, expires_after_ms) VALUES ($1, $2, $3, 'queued', $4, $5)`, [r.resource, r.workflow, r.instanceId, r.now, r.expiresAfterMs ?? null]);
    }
    return { acquired: false, holder, queued: r.policy === 'queue' || own !== undefined };
  }

  async releaseLocks(workflow: string, instanceId: string, resource: string | undefined, releaseId: string, now: Date): Promise<void> {
    const t = `${this.names.s}workflow_locks`;
    const { rows } = await this.sql.query<{ resource: string }>(
      `DELETE FROM ${t} WHERE workflow = $1 AND instance_id = $2 AND ($3::text IS NULL OR resource = $3) AND state = 'held' RETURNING resource`,
      [workflow, instanceId, resource ?? null],
    );
    await this.sql.query(`DELETE FROM ${t} WHERE workflow = $1 AND instance_id = $2 AND ($3::text IS NULL OR resource = $3)`, [workflow, instanceId, resource ?? null]);
    for (const { resource: released } of rows) {
      // Handed to the first in line, in this transaction: nobody can take it between.
      const next = await this.sql.query<LockRow>(
        `UPDATE ${t} SET state = 'held', since = $2, expires_at = $2::timestamptz + make_interval(secs => expires_after_ms / 1000.0)
          WHERE (resource, workflow, instance_id) = (SELECT resource, workflow, instance_id FROM ${t} WHERE resource = $1 AND state = 'queued' ORDER BY since, workflow, instance_id LIMIT 1 FOR UPDATE)
          RETURNING ${LOCK_COLUMNS}`,
        [released, now],
      );
      const waiter = next.rows[0];
      if (!waiter) continue;
      const timer = lockTimerName(released);
      await this.scheduleTimer({ workflow: waiter.workflow, instanceId: waiter.instance_id, timer, dueAt: now, fireId: `${timer}@${releaseId}` });
    }
  }

  end(committed: boolean): void {
    if (committed && this.scheduled) this.signal.fire();
    this.scheduled = false;
  }
}

function toTimer(row: TimerRow): WorkflowTimer {
  return {
    workflow: row.workflow,
    instanceId: row.instance_id,
    timer: row.timer,
    dueAt: new Date(row.due_at),
    fireId: row.fire_id,
    ...(row.payload !== null && row.payload !== undefined ? { payload: row.payload } : {}),
  };
}

function toInstance(row: InstanceRow): WorkflowInstanceRow {
  return {
    workflow: row.workflow,
    instanceId: row.instance_id,
    status: row.status,
    ...(row.phase !== null && row.phase !== undefined ? { phase: row.phase } : {}),
    version: Number(row.version),
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toLock(row: LockRow): SemanticLock {
  return {
    resource: row.resource,
    workflow: row.workflow,
    instanceId: row.instance_id,
    state: row.state,
    since: new Date(row.since),
    ...(row.expires_at !== null && row.expires_at !== undefined ? { expiresAt: new Date(row.expires_at) } : {}),
  };
}
