import type { JsonValue } from '../core/message.js';
import type { SqlClient, SqlNames, SqlQueryable } from '../store/sql-access.js';
import type { TimerSignal, WorkflowInstanceRow, WorkflowTables, WorkflowTableWrites, WorkflowTimer } from './workflow-tables.js';

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
  version: number;
  started_at: Date | string;
  updated_at: Date | string;
}

const TIMER_COLUMNS = 'workflow, instance_id, timer, due_at, fire_id, payload';

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

  async instances(workflow: string, options: { status?: WorkflowInstanceRow['status']; limit?: number } = {}): Promise<WorkflowInstanceRow[]> {
    const { rows } = await this.client.query<InstanceRow>(
      `SELECT * FROM ${this.names.s}workflow_instances WHERE workflow = $1 AND ($2::text IS NULL OR status = $2) ORDER BY updated_at, instance_id LIMIT $3`,
      [workflow, options.status ?? null, options.limit ?? null],
    );
    return rows.map(toInstance);
  }

  async instance(workflow: string, instanceId: string): Promise<WorkflowInstanceRow | undefined> {
    const { rows } = await this.client.query<InstanceRow>(`SELECT * FROM ${this.names.s}workflow_instances WHERE workflow = $1 AND instance_id = $2`, [workflow, instanceId]);
    return rows[0] ? toInstance(rows[0]) : undefined;
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
      `INSERT INTO ${this.names.s}workflow_instances (workflow, instance_id, status, version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workflow, instance_id) DO UPDATE SET status = excluded.status, version = excluded.version, updated_at = now()
        WHERE ${this.names.s}workflow_instances.version < excluded.version`,
      [row.workflow, row.instanceId, row.status, row.version],
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
  return { workflow: row.workflow, instanceId: row.instance_id, status: row.status, version: Number(row.version), startedAt: new Date(row.started_at), updatedAt: new Date(row.updated_at) };
}
