import type { LeaseStorage } from './consumer-storage.js';

/**
 * Leases kept in this process, for the memory store: only instances in this process can compete
 * for them, and a lease lapses when its owner stops renewing it, as in the database.
 */
export class MemoryLeaseStorage implements LeaseStorage {
  private readonly leases = new Map<string, { owner: string | null; expiresAt: number }>();
  private readonly members = new Map<string, number>();

  async heartbeat(subscription: string, owner: string, partitions: number, ttlMs: number): Promise<{ members: number }> {
    for (let p = 0; p < partitions; p++) if (!this.leases.has(key(subscription, p))) this.leases.set(key(subscription, p), { owner: null, expiresAt: 0 });
    this.members.set(key(subscription, owner), Date.now() + ttlMs);
    const now = Date.now();
    return { members: [...this.members].filter(([k, until]) => k.startsWith(`${subscription}\u0000`) && until > now).length };
  }

  async renew(subscription: string, owner: string, ttlMs: number): Promise<number[]> {
    const now = Date.now();
    return this.of(subscription)
      .filter(([, lease]) => lease.owner === owner && lease.expiresAt > now)
      .map(([partition, lease]) => ((lease.expiresAt = now + ttlMs), partition));
  }

  async claim(subscription: string, owner: string, count: number, ttlMs: number): Promise<number[]> {
    const now = Date.now();
    return this.of(subscription)
      .filter(([, lease]) => lease.owner === null || lease.expiresAt <= now)
      .slice(0, Math.max(0, count))
      .map(([partition, lease]) => (Object.assign(lease, { owner, expiresAt: now + ttlMs }), partition));
  }

  async release(subscription: string, owner: string, partitions: number[]): Promise<void> {
    for (const [partition, lease] of this.of(subscription)) {
      if (lease.owner === owner && partitions.includes(partition)) Object.assign(lease, { owner: null, expiresAt: 0 });
    }
  }

  async leave(subscription: string, owner: string): Promise<void> {
    this.members.delete(key(subscription, owner));
  }

  private of(subscription: string): Array<[number, { owner: string | null; expiresAt: number }]> {
    const prefix = `${subscription}\u0000`;
    return [...this.leases]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, lease]): [number, { owner: string | null; expiresAt: number }] => [Number(k.slice(prefix.length)), lease])
      .sort((a, b) => a[0] - b[0]);
  }
}

const key = (subscription: string, part: number | string): string => `${subscription}\u0000${part}`;
