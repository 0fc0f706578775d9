import { lockTimerName } from './workflow-log.js';
import type { LockOutcome, LockRequest, SemanticLock, TimerSignal, WorkflowInstanceRow, WorkflowTables, WorkflowTableWrites, WorkflowTimer } from './workflow-tables.js';

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
  /** By resource: its holder first (when held), then the line, in order. */
  readonly lockRows = new Map<string, SemanticLock[]>();

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

  async instances(workflow: string, options: { status?: WorkflowInstanceRow['status']; phase?: string; limit?: number } = {}): Promise<WorkflowInstanceRow[]> {
    return [...this.instanceRows.values()]
      .filter((r) => r.workflow === workflow && (options.status === undefined || r.status === options.status) && (options.phase === undefined || r.phase === options.phase))
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || (a.instanceId < b.instanceId ? -1 : 1))
      .slice(0, options.limit ?? Infinity)
      .map((r) => ({ ...r }));
  }

  async instance(workflow: string, instanceId: string): Promise<WorkflowInstanceRow | undefined> {
    const row = this.instanceRows.get(key(workflow, instanceId));
    return row ? { ...row } : undefined;
  }

  async locks(options: { workflow?: string; resource?: string; instanceId?: string } = {}): Promise<SemanticLock[]> {
    return [...this.lockRows.values()]
      .flat()
      .filter((l) => (options.workflow === undefined || l.workflow === options.workflow) && (options.resource === undefined || l.resource === options.resource) && (options.instanceId === undefined || l.instanceId === options.instanceId))
      .sort((a, b) => a.since.getTime() - b.since.getTime())
      .map(({ expiresAfterMs: _kept, ...l }: SemanticLock & { expiresAfterMs?: number }) => l);
  }
}

class MemoryWorkflowWrites implements WorkflowTableWrites {
  private readonly ops: Array<() => void> = [];
  private readonly held: string[] = [];
  /** Lock changes apply at once (an answer is needed now); these put the rows back if the transaction rolls back. */
  private readonly undo: Array<() => void> = [];
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

  async acquireLock(r: LockRequest): Promise<LockOutcome> {
    const rows = this.tables.lockRows.get(r.resource) ?? [];
    this.saveLocks(r.resource);
    const mine = (l: SemanticLock) => l.workflow === r.workflow && l.instanceId === r.instanceId;
    const expiresAt = r.expiresAfterMs !== undefined ? { expiresAt: new Date(r.now.getTime() + r.expiresAfterMs) } : {};
    let line = rows.map((l) => ({ ...l }));
    if (line[0]?.state === 'held' && !mine(line[0]) && line[0].expiresAt && line[0].expiresAt < r.now) line = line.slice(1);
    const holder = line[0]?.state === 'held' ? line[0] : undefined;
    if (holder && mine(holder)) return { acquired: true, ...(holder.expiresAt ? { expiresAt: holder.expiresAt } : {}) };
    const own = line.find(mine);
    if (!holder) {
      const held: SemanticLock = { resource: r.resource, workflow: r.workflow, instanceId: r.instanceId, state: 'held', since: r.now, ...expiresAt };
      this.tables.lockRows.set(r.resource, [held, ...line.filter((l) => !mine(l))]);
      return { acquired: true, ...expiresAt };
    }
    if (r.policy === 'queue' && !own) {
      line.push({ resource: r.resource, workflow: r.workflow, instanceId: r.instanceId, state: 'queued', since: r.now, ...(r.expiresAfterMs !== undefined ? { expiresAfterMs: r.expiresAfterMs } : {}) } as SemanticLock);
    }
    this.tables.lockRows.set(r.resource, line);
    return { acquired: false, holder: { ...holder }, queued: r.policy === 'queue' || own !== undefined };
  }

  async releaseLocks(workflow: string, instanceId: string, resource: string | undefined, releaseId: string, now: Date): Promise<void> {
    for (const [name, rows] of [...this.tables.lockRows]) {
      if (resource !== undefined && name !== resource) continue;
      const mine = (l: SemanticLock) => l.workflow === workflow && l.instanceId === instanceId;
      if (!rows.some(mine)) continue;
      this.saveLocks(name);
      const wasHolder = rows[0]?.state === 'held' && mine(rows[0]);
      const line = rows.filter((l) => !mine(l)).map((l) => ({ ...l }));
      const next = line[0];
      if (wasHolder && next) {
        const after = (next as SemanticLock & { expiresAfterMs?: number }).expiresAfterMs;
        line[0] = { resource: name, workflow: next.workflow, instanceId: next.instanceId, state: 'held', since: now, ...(after !== undefined ? { expiresAt: new Date(now.getTime() + after) } : {}) };
        const timer = lockTimerName(name);
        await this.scheduleTimer({ workflow: next.workflow, instanceId: next.instanceId, timer, dueAt: now, fireId: `${timer}@${releaseId}` });
      }
      if (line.length > 0) this.tables.lockRows.set(name, line);
      else this.tables.lockRows.delete(name);
    }
  }

  private saveLocks(resource: string): void {
    const before = this.tables.lockRows.get(resource);
    this.undo.push(() => (before ? this.tables.lockRows.set(resource, before) : this.tables.lockRows.delete(resource)));
  }

  end(committed: boolean): void {
    if (!committed) for (const op of this.undo.splice(0).reverse()) op();
    this.undo.length = 0;
    if (committed) for (const op of this.ops.splice(0)) op();
    this.ops.length = 0;
    for (const k of this.held.splice(0)) this.tables.claimed.delete(k);
    if (committed && this.scheduled) this.tables.signal.fire();
    this.scheduled = false;
  }
}
