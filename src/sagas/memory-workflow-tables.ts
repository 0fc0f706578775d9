import type { TimerSignal, WorkflowInstanceRow, WorkflowTables, WorkflowTableWrites, WorkflowTimer } from './workflow-tables.js';

const key = (workflow: string, instanceId: string, timer = ''): string => `${workflow}\u0000${instanceId}\u0000${timer}`;

/**
 * The workflow tables of the memory store. Writes are staged and applied when their transaction
 * commits (`end(true)`), like the memory consumer storage; a claimed timer is reserved so that a
 * second timer service of the same store passes it by.
 */
export class MemoryWorkflowTables implements WorkflowTables {
  readonly timerRows = new Map<string, WorkflowTimer>();
  readonly instanceRows = new Map<string, WorkflowInstanceRow>();
  readonly claimed = new Set<string>();

  constructor(readonly signal: TimerSignal) {}

  writes(): WorkflowTableWrites {
    return new MemoryWorkflowWrites(this);
  }

  async nextDueAt(workflow: string): Promise<Date | undefined> {
    let next: Date | undefined;
    for (const t of this.timerRows.values()) if (t.workflow === workflow && (!next || t.dueAt < next)) next = t.dueAt;
    return next;
  }

  async timers(workflow: string, options: { instanceId?: string; limit?: number } = {}): Promise<WorkflowTimer[]> {
    return [...this.timerRows.values()]
      .filter((t) => t.workflow === workflow && (options.instanceId === undefined || t.instanceId === options.instanceId))
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())
      .slice(0, options.limit ?? Infinity)
      .map((t) => ({ ...t }));
  }

  async instances(workflow: string, options: { status?: WorkflowInstanceRow['status']; limit?: number } = {}): Promise<WorkflowInstanceRow[]> {
    return [...this.instanceRows.values()]
      .filter((r) => r.workflow === workflow && (options.status === undefined || r.status === options.status))
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || (a.instanceId < b.instanceId ? -1 : 1))
      .slice(0, options.limit ?? Infinity)
      .map((r) => ({ ...r }));
  }

  async instance(workflow: string, instanceId: string): Promise<WorkflowInstanceRow | undefined> {
    const row = this.instanceRows.get(key(workflow, instanceId));
    return row ? { ...row } : undefined;
  }
}

class MemoryWorkflowWrites implements WorkflowTableWrites {
  private readonly ops: Array<() => void> = [];
  private readonly held: string[] = [];
  private scheduled = false;

  constructor(private readonly tables: MemoryWorkflowTables) {}

  async scheduleTimer(timer: WorkflowTimer): Promise<void> {
    this.scheduled = true;
    this.ops.push(() => this.tables.timerRows.set(key(timer.workflow, timer.instanceId, timer.timer), { ...timer }));
  }

  async cancelTimer(workflow: string, instanceId: string, timer: string): Promise<void> {
    this.ops.push(() => this.tables.timerRows.delete(key(workflow, instanceId, timer)));
  }

  async saveInstance(row: Omit<WorkflowInstanceRow, 'startedAt' | 'updatedAt'>): Promise<void> {
    this.ops.push(() => {
      const k = key(row.workflow, row.instanceId);
      const before = this.tables.instanceRows.get(k);
      if (before && before.version >= row.version) return;
      const now = new Date();
      this.tables.instanceRows.set(k, { ...row, startedAt: before?.startedAt ?? now, updatedAt: now });
    });
  }

  async lockTimers(): Promise<void> {}

  async claimDueTimer(workflow: string, now: Date): Promise<WorkflowTimer | undefined> {
    let due: WorkflowTimer | undefined;
    for (const [k, t] of this.tables.timerRows) {
      if (t.workflow !== workflow || t.dueAt > now || this.tables.claimed.has(k)) continue;
      if (!due || t.dueAt < due.dueAt) due = t;
    }
    if (!due) return undefined;
    const k = key(due.workflow, due.instanceId, due.timer);
    this.tables.claimed.add(k);
    this.held.push(k);
    return { ...due };
  }

  async deleteTimer(timer: WorkflowTimer): Promise<void> {
    this.ops.push(() => {
      const k = key(timer.workflow, timer.instanceId, timer.timer);
      if (this.tables.timerRows.get(k)?.fireId === timer.fireId) this.tables.timerRows.delete(k);
    });
  }

  end(committed: boolean): void {
    if (committed) for (const op of this.ops.splice(0)) op();
    this.ops.length = 0;
    for (const k of this.held.splice(0)) this.tables.claimed.delete(k);
    if (committed && this.scheduled) this.tables.signal.fire();
    this.scheduled = false;
  }
}
