import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConsumerStorage, LeaseStorage } from './consumer-storage.js';
import { MemoryLeaseStorage } from './memory-lease-storage.js';

const inProcess = new WeakMap<ConsumerStorage, LeaseStorage>();

/**
 * The right to run one subscription, held by one instance at a time: a single lease row of the
 * partition leases (the same table and code as `PartitionedSubscription`, with one partition),
 * renewed every third of its time. An instance that dies stops renewing and the lease lapses,
 * so a standby takes over within `leaseMs`; one that stops hands it back at once.
 */
export class StandbyLease {
  readonly owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

  /** The lease `key` in the database of `storage` (on the memory store: in this process). */
  static of(storage: ConsumerStorage, key: string, leaseMs: number): StandbyLease {
    let leases = storage.leases ?? inProcess.get(storage);
    if (!leases) inProcess.set(storage, (leases = new MemoryLeaseStorage()));
    return new StandbyLease(leases, key, leaseMs);
  }

  private constructor(
    private readonly leases: LeaseStorage,
    private readonly key: string,
    readonly leaseMs: number,
  ) {}

  /** Takes the lease if it is free or lapsed; true when this instance holds it now. */
  async acquire(): Promise<boolean> {
    await this.leases.heartbeat(this.key, this.owner, 1, this.leaseMs);
    if ((await this.leases.renew(this.key, this.owner, this.leaseMs)).length === 1) return true;
    return (await this.leases.claim(this.key, this.owner, 1, this.leaseMs)).length === 1;
  }

  /** Extends the lease; false when it lapsed and may be someone else's now. */
  async renew(): Promise<boolean> {
    return (await this.leases.renew(this.key, this.owner, this.leaseMs)).length === 1;
  }

  async release(): Promise<void> {
    await this.leases.release(this.key, this.owner, [0]);
    await this.leases.leave(this.key, this.owner);
  }
}
