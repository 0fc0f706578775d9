import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { jetStreamErrorCode, natsError } from './nats-errors.js';
import { natsNames, STREAM_NOT_FOUND } from './nats-topology.js';

/** JetStream's "wrong last sequence": a compare-and-set on a subject's last sequence lost. */
const WRONG_LAST_SEQUENCE = 10071;

/** How long one pull of a lane may wait for messages; a lease must cover a pull begun just before it lapses. */
export const LEASE_PULL_MS = 1000;

/**
 * The timing of a group's partition leases, derived from the durable consumers' ack wait so that
 * every process of the group computes the same lease.
 *
 * Why the lease outlives the ack wait: a new holder pulls once the lease expired, and JetStream
 * hands out due redeliveries before new messages. The dead holder's unacked messages are due
 * `ackWait` after the last sign of life it gave them (a delivery or `working()`), which it only
 * gives while its lease is fresh (`graceMs` since its last confirmed renewal, a pull's length
 * included). So they are due at most `graceMs + ackWait` after its last renewal, before the lease
 * (`leaseMs` after it) expires, and are handled before the partition's later messages.
 *
 * @example
 * const timing = leaseTiming(30_000) // { renewMs: 2000, graceMs: 5000, leaseMs: 37_000 }
 */
export function leaseTiming(ackWaitMs: number): { renewMs: number; graceMs: number; leaseMs: number } {
  const renewMs = Math.min(2000, Math.max(100, Math.floor(ackWaitMs / 4)));
  // A holder pulls and keeps messages alive while its last renewal is younger than graceMs: 2.5 renewals.
  const graceMs = Math.floor(renewMs * 2.5);
  // Half a renewal of margin past the last message's due time (the server's redelivery timer is not exact).
  return { renewMs, graceMs, leaseMs: ackWaitMs + LEASE_PULL_MS + graceMs + Math.floor(renewMs / 2) };
}

interface LeaseValue {
  owner: string;
  released?: boolean;
}

/**
 * A group's partition leases on NATS JetStream, kept the way a KV bucket keeps its keys (the
 * `@nats-io/kv` package is not a dependency): a stream holding one message per partition subject
 * (`max_msgs_per_subject: 1`), taken by a publish expecting the subject's last sequence to be 0
 * (none) or a released lease's, renewed by a publish expecting the holder's own last sequence, and
 * expired by the stream's `max_age` when its holder stops renewing.
 *
 * @example
 * const leases = await PartitionLeases.open(js, jsm, 'orders', 'billing', 30_000)
 * const lease = leases.lease(0)
 * if (await lease.take()) { lease.startRenewing(); while (lease.held()) await pullOnce(); await lease.release() }
 */
export class PartitionLeases {
  /** This consumer's name in the leases it holds. */
  readonly owner = `consumer-${randomUUID().slice(0, 8)}`;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly topic: string,
    private readonly group: string,
    readonly timing: ReturnType<typeof leaseTiming>,
  ) {}

  /**
   * Creates the group's lease stream unless it exists (and sets its `max_age` to the lease if it
   * differs), with the broker's `replicas`: on a cluster the leases survive a node like the messages.
   */
  static async open(js: JetStreamClient, jsm: JetStreamManager, topic: string, group: string, ackWaitMs: number, replicas = 1): Promise<PartitionLeases> {
    const timing = leaseTiming(ackWaitMs);
    const name = natsNames.leaseStream(topic, group);
    const config = { max_age: timing.leaseMs * 1_000_000, duplicate_window: timing.leaseMs * 1_000_000 };
    try {
      const info = await jsm.streams.info(name).catch((error: unknown) => {
        if (jetStreamErrorCode(error) === STREAM_NOT_FOUND) return undefined;
        throw error;
      });
      if (info === undefined) {
        await jsm.streams.add({ name, subjects: [natsNames.leaseSubject(topic, group, 0).replace(/\.0$/, '.>')], max_msgs_per_subject: 1, num_replicas: replicas, ...config }).catch((error: unknown) => {
          // Another process created it in between.
          if (jetStreamErrorCode(error) !== 10058) throw error;
        });
      } else if (info.config.max_age !== config.max_age) {
        await jsm.streams.update(name, config);
      }
    } catch (error) {
      throw natsError(error, `creating the lease stream ${name}`);
    }
    return new PartitionLeases(js, jsm, name, topic, group, timing);
  }

  /** Consumers of the group seen alive at the last heartbeat (this one included). */
  private members = 1;
  private heartbeat: NodeJS.Timeout | undefined;

  /**
   * Announces this consumer as a live member of the group every `renewMs` (expiring like a lease)
   * and counts the members: `fairShare` is what each should hold.
   */
  startHeartbeat(): void {
    const beat = async (): Promise<void> => {
      try {
        await this.js.publish(natsNames.memberSubject(this.topic, this.group, this.owner), '', { timeout: this.timing.renewMs });
        const info = await this.jsm.streams.info(this.stream, { subjects_filter: natsNames.memberSubject(this.topic, this.group, '*') });
        this.members = Math.max(1, Object.keys(info.state.subjects ?? {}).length);
      } catch {
        // Unreachable server: keep the last count; the leases lapse by themselves.
      }
    };
    void beat();
    this.heartbeat = setInterval(() => void beat(), this.timing.renewMs);
  }

  /** Stops announcing this consumer; its member entry expires with the stream's `max_age`. */
  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** The partitions one consumer should hold: all of them shared between the live members, rounded up. */
  fairShare(partitions: number): number {
    return Math.ceil(partitions / this.members);
  }

  /** The lease of one partition, as this consumer sees it. */
  lease(partition: number): PartitionLease {
    return new PartitionLease(this.js, this.jsm, this.stream, natsNames.leaseSubject(this.topic, this.group, partition), this.owner, this.timing);
  }
}

/**
 * One partition's lease. `held()` is what a lane checks before each pull: false once a renewal
 * found another holder, or once no renewal was confirmed for `graceMs` (the lease may be expiring).
 */
export class PartitionLease {
  private revision = 0;
  /** When the last confirmed renewal (or the take) was sent, by this process' clock. */
  private confirmedAt = 0;
  private lost = true;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly subject: string,
    private readonly owner: string,
    private readonly timing: ReturnType<typeof leaseTiming>,
  ) {}

  /** Takes the lease if it is free (never taken, expired or released); false if another consumer holds it. */
  async take(): Promise<boolean> {
    try {
      const last = await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject });
      let expected = 0;
      if (last) {
        const value = last.json<LeaseValue>();
        // Unreleased, even by this consumer: a holder that did not release it may have left messages
        // that are due for redelivery only once the lease expired (see leaseTiming).
        if (!value.released) return false;
        expected = last.seq;
      }
      return await this.write({ owner: this.owner }, expected);
    } catch (error) {
      throw natsError(error, `taking the lease ${this.subject}`);
    }
  }

  /** Renews the lease every `renewMs` until `stopRenewing` or until it is lost. */
  startRenewing(): void {
    this.stopRenewing();
    this.timer = setInterval(() => void this.renew(), this.timing.renewMs);
  }

  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether this consumer may pull the partition and keep its messages alive. */
  held(): boolean {
    return !this.lost && Date.now() - this.confirmedAt < this.timing.graceMs;
  }

  /** Stops holding the lease without releasing it: it expires by itself, once whatever its holder had in flight is due again. */
  abandon(): void {
    this.stopRenewing();
    this.lost = true;
  }

  /** Gives the lease up at once (a graceful stop, after the lane's handlers finished): a standby takes it without waiting for expiry. */
  async release(): Promise<void> {
    this.stopRenewing();
    if (this.lost) return;
    this.lost = true;
    try {
      await this.write({ owner: this.owner, released: true }, this.revision);
    } catch {
      // Unreachable server: the lease expires by itself.
    }
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.lost) return;
    this.renewing = true;
    try {
      if (!(await this.write({ owner: this.owner }, this.revision))) {
        // Another consumer holds it (ours expired): stop pulling at once.
        this.lost = true;
        this.stopRenewing();
      }
    } catch {
      // Unreachable server: held() lapses by itself if this goes on.
    } finally {
      this.renewing = false;
    }
  }

  /** A compare-and-set on the subject's last sequence; false when another write came first. */
  private async write(value: LeaseValue, expected: number): Promise<boolean> {
    const sentAt = Date.now();
    try {
      const ack = await this.js.publish(this.subject, JSON.stringify(value), { expect: { lastSubjectSequence: expected }, timeout: this.timing.renewMs });
      if (!value.released) {
        this.revision = ack.seq;
        this.confirmedAt = sentAt;
        this.lost = false;
      }
      return true;
    } catch (error) {
      if (jetStreamErrorCode(error) === WRONG_LAST_SEQUENCE) return false;
      throw error;
    }
  }
}
