import type { Snapshot, SnapshotStore } from './snapshot-store.js';

/**
 * Snapshots in process memory: for the memory event store and for tests. States are copied in
 * and out, so a caller mutating a loaded state cannot change the stored one.
 *
 * @example
 * const snapshots = new MemorySnapshotStore()
 * await handleCommand(new MemoryEventStore(), 'cart-1', command, cart, { snapshots })
 */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly rows = new Map<string, Snapshot>();

  async load(streamId: string, name: string, snapshotVersion: number): Promise<Snapshot | undefined> {
    const row = this.rows.get(key(streamId, name, snapshotVersion));
    return row ? structuredClone(row) : undefined;
  }

  async save(snapshot: Snapshot): Promise<void> {
    const k = key(snapshot.streamId, snapshot.name, snapshot.snapshotVersion);
    const existing = this.rows.get(k);
    if (existing && existing.streamVersion > snapshot.streamVersion && existing.fromVersion === snapshot.fromVersion) return;
    // Through JSON, as the SQL store does: a state that does not survive it fails the same way here.
    this.rows.set(k, { ...snapshot, state: JSON.parse(JSON.stringify(snapshot.state)) as Snapshot['state'] });
  }

  async delete(streamId: string, name?: string): Promise<void> {
    for (const [k, row] of this.rows) if (row.streamId === streamId && (name === undefined || row.name === name)) this.rows.delete(k);
  }

  /** How many snapshots are held (for tests). */
  get size(): number {
    return this.rows.size;
  }
}

const key = (streamId: string, name: string, version: number): string => JSON.stringify([streamId, name, version]);
