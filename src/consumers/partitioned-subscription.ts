import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { consumerStorageFor, type LeaseStorage } from './consumer-storage.js';
import { Sleeper } from './mutex.js';
import { Subscription, type SubscriptionOptions, type SubscriptionStatus } from './subscription.js';

/** Options of `PartitionedSubscription`. */
export interface PartitionedSubscriptionOptions extends Omit<SubscriptionOptions, 'partition' | 'checkpointName' | 'stream' | 'standby' | 'leaseMs'> {
  /** How many partitions (by hash of the stream id); fixed for the life of the subscription name. */
  partitions: number;
  /** A partition whose owner stops renewing is taken over after this long; 10 s by default. */
  leaseMs?: number;
  /** This process's name among the owners; host, pid and a random suffix by default. */
  owner?: string;
}

/**
 * A subscription split into P partitions by hash of the stream id, each handled in order by one
 * owner at a time, spread over every process that runs it. Owners coordinate through lease rows
 * in the database (no new server): each renews its leases every third of the lease time and
 * takes free or expired ones up to its fair share, so a process that dies loses its partitions
 * to the others within the lease time. Each partition has its own compare-and-set checkpoint,
 * so even an owner that lost its lease without noticing cannot apply an event twice.
 * On the memory store all partitions run in this process.
 *
 * @example
 * const workers = new PartitionedSubscription(store, { name: 'billing', partitions: 8, handler: bill })
 * await workers.start()
 * console.log(workers.owned()) // e.g. [0, 1, 2, 3] while another process holds the others
 */
export class PartitionedSubscription {
  readonly owner: string;
  private readonly leases?: LeaseStorage;
  private readonly running = new Map<number, Subscription>();
  private readonly sleeper = new Sleeper();
  private stopping = false;
  private loop?: Promise<void>;

  constructor(
    readonly store: EventStore,
    private readonly options: PartitionedSubscriptionOptions,
  ) {
    if (!Number.isInteger(options.partitions) || options.partitions < 1 || options.partitions > 1024) {
      throw new FactumError('INVALID_ARGUMENT', 'partitions must be an integer from 1 to 1024');
    }
    this.owner = options.owner ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.leases = consumerStorageFor(store).leases;
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 10_000;
  }

  /** Joins the owners and takes a first share of partitions; resolves once that is done. */
  async start(): Promise<this> {
    if (this.loop) return this;
    if (!this.leases) {
      for (let p = 0; p < this.options.partitions; p++) await this.startPartition(p);
      this.loop = Promise.resolve();
      return this;
    }
    await this.tick();
    this.loop = this.run();
    return this;
  }

  /** Stops every partition here and hands the leases back at once (others need not wait for expiry). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    await this.loop;
    const owned = [...this.running.keys()];
    await Promise.all([...this.running.values()].map((s) => s.stop()));
    this.running.clear();
    if (this.leases) {
      await this.leases.release(this.options.name, this.owner, owned);
      await this.leases.leave(this.options.name, this.owner);
    }
  }

  /** The partitions this process runs now. */
  owned(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  /** The status of each partition run here. */
  status(): Array<SubscriptionStatus & { partition: number }> {
    return this.owned().map((partition) => ({ ...this.running.get(partition)!.status(), partition }));
  }

  /** Resolves once every partition run here has handled everything up to `position`. */
  async waitFor(position: bigint, options: { timeoutMs?: number } = {}): Promise<void> {
    await Promise.all([...this.running.values()].map((s) => s.waitFor(position, options)));
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      await this.sleeper.sleep(Math.max(50, Math.floor(this.leaseMs / 3)));
      if (this.stopping) break;
      try {
        await this.tick();
      } catch (error) {
        // The database is unreachable: leases lapse, others may take over; the checkpoints'
        // compare-and-set keeps them from applying anything twice. Try again next round.
        this.options.onError?.(error);
      }
    }
  }

  /** One round of coordination: heartbeat, renew, let go of lost or surplus partitions, claim a fair share. */
  private async tick(): Promise<void> {
    const leases = this.leases!;
    const { name, partitions } = this.options;
    const { members } = await leases.heartbeat(name, this.owner, partitions, this.leaseMs);
    const held = new Set(await leases.renew(name, this.owner, this.leaseMs));
    for (const [partition, sub] of this.running) {
      const failed = sub.status().state === 'failed';
      if (!held.has(partition) || failed) {
        this.running.delete(partition);
        await sub.stop();
        if (failed) {
          held.delete(partition);
          await leases.release(name, this.owner, [partition]);
        }
      }
    }
    const fair = Math.ceil(partitions / Math.max(1, members));
    if (held.size > fair) {
      // Hand surplus partitions to newcomers: stop first, then release, so two never overlap.
      const surplus = [...held].sort((a, b) => b - a).slice(0, held.size - fair);
      for (const partition of surplus) {
        const sub = this.running.get(partition);
        this.running.delete(partition);
        held.delete(partition);
        await sub?.stop();
      }
      await leases.release(name, this.owner, surplus);
    }
    for (const partition of await leases.claim(name, this.owner, fair - held.size, this.leaseMs)) held.add(partition);
    for (const partition of held) if (!this.running.has(partition)) await this.startPartition(partition);
  }

  private async startPartition(partition: number): Promise<void> {
    const { partitions, leaseMs: _leaseMs, owner: _owner, ...rest } = this.options;
    const sub = new Subscription(this.store, {
      ...rest,
      partition: { index: partition, count: partitions },
      checkpointName: `${this.options.name}#${partition}/${partitions}`,
    });
    await sub.start();
    this.running.set(partition, sub);
  }
}
