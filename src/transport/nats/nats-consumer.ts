import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { BrokerConsumer, ConsumeOptions, Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { settleBatch, settleOnce } from '../settle-once.js';
import { INTERNAL_HEADER_PREFIX, fromNats, rawHeaders } from './nats-message.js';
import { LEASE_PULL_MS, type PartitionLease, type PartitionLeases } from './nats-partition-lease.js';
import { natsNames } from './nats-topology.js';

/** Set on a dead letter retried for one group: the topic's other groups pass over it. */
export const ONLY_GROUP_HEADER = `${INTERNAL_HEADER_PREFIX}only-group`;

export interface NatsConsumerSettings {
  partitions: number;
  deliveryLimit: number;
  prefetch: number;
  ackWaitMs: number;
  /** Publishes a dead letter and resolves once JetStream stored it. */
  deadLetter: (message: BrokerMessage, error: unknown, attempt: number) => Promise<void>;
  onStopped: (consumer: NatsConsumer) => void;
  /** The group's partition leases: a lane pulls only the partition whose lease it holds. */
  leases: PartitionLeases;
}

/** How long a lane waits after giving messages back before it pulls again (see handle). */
const RETRY_MARGIN_MS = 100;

/**
 * A group's consumer: one lane per partition on the group's durable consumer of that partition's
 * subject. A lane pulls only while it holds the partition's lease (`PartitionLeases`: one holder
 * per (topic, group, partition) among the group's processes); the other processes' lanes stand by
 * and take the lease over when it expires (its holder died) or is released (a graceful stop, once
 * the lane's handler finished). So one process at a time pulls a partition, and the durable's
 * `max_ack_pending` (1 for a handler, the prefetch for a batch handler) can be the prefetch without
 * breaking a key's order across processes. The lease outlives the ack wait, so that a dead
 * holder's unacked messages are due for redelivery, which JetStream serves first, when the next
 * holder pulls (see `leaseTiming`).
 *
 * A retry holds the retried message and the batch's unsettled ones behind it (kept alive with
 * `working()`) for the delay, then gives them back in order (`nak()`): a holder that dies while it
 * waits leaves messages that are due within the ack wait, like any in flight.
 */
export class NatsConsumer implements BrokerConsumer {
  private stopping = false;
  private readonly loops: Array<Promise<void>> = [];
  /** Partitions whose lease this consumer holds. */
  private readonly held = new Set<number>();
  /**
   * Per message (stream sequence), the times this consumer gave it back unhandled: the unsettled
   * ones of a batch naked behind a retried one. JetStream counts those as deliveries; they are
   * not attempts, or a key's later messages would reach the delivery limit while an earlier one is
   * retried. Known in this process only: another one counts them (a stop's give-back too).
   */
  private readonly returned = new Map<number, number>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly options: ConsumeOptions,
    private readonly settings: NatsConsumerSettings,
  ) {}

  async start(): Promise<void> {
    const stream = natsNames.stream(this.options.topic);
    const consumers = await Promise.all(
      Array.from({ length: this.settings.partitions }, (_, p) => this.js.consumers.get(stream, natsNames.consumer(this.options.group, p))),
    );
    this.settings.leases.startHeartbeat();
    consumers.forEach((consumer, p) => this.loops.push(this.lane(consumer, p)));
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.allSettled(this.loops);
    this.settings.leases.stopHeartbeat();
    this.settings.onStopped(this);
  }

  /** Stands by for the partition's lease, pulls while it holds it, and releases it on stop. */
  private async lane(consumer: Consumer, partition: number): Promise<void> {
    const lease = this.settings.leases.lease(partition);
    // Standbys look again this often: a released lease is taken within it, an expired one too.
    const watchMs = Math.min(1000, this.settings.leases.timing.renewMs);
    while (!this.stopping) {
      // Fair sharing: a consumer holding its share takes no more; the others' lanes take what is free.
      const took = this.held.size < this.fairShare() && (await lease.take().catch(() => false));
      if (!took) {
        await sleep(watchMs);
        continue;
      }
      this.held.add(partition);
      lease.startRenewing();
      let settled = false;
      try {
        settled = await this.pull(consumer, partition, lease);
      } finally {
        this.held.delete(partition);
        lease.stopRenewing();
      }
      // Handed back between batches (over its share, or a stop) with nothing of it in flight: a standby
      // takes it at once. Otherwise (the lease lapsed, or the server went away and messages may be lost
      // in a dropped pull's buffer, due only after the ack wait) it expires by itself, after the ack wait.
      if (settled) await lease.release();
      else lease.abandon();
      // Left to another member for a while, not taken back by this lane at once.
      if (!this.stopping) await sleep(watchMs * 2);
    }
  }

  private fairShare(): number {
    return this.settings.leases.fairShare(this.settings.partitions);
  }

  /**
   * Pulls the partition for as long as this consumer holds its lease. A pull's messages are
   * handled in groups as they arrive (whatever has arrived once one has), not once the pull is
   * full: at a low rate a pull of the prefetch would otherwise wait for its last message, or for
   * its expiry. Messages in hand are kept alive (`working()`) while the lease is fresh, so that
   * ack_wait only redelivers what a dead holder held (see leaseTiming).
   *
   * Resolves true when it ended with the lease held and nothing of the partition unaccounted for
   * (a stop, or handed back over the fair share): then the lease may be released at once.
   */
  private async pull(consumer: Consumer, partition: number, lease: PartitionLease): Promise<boolean> {
    const batchSize = this.options.batchHandler ? this.settings.prefetch : 1;
    const inHand = new Set<JsMsg>();
    const keepAlive = setInterval(() => lease.held() && inHand.forEach((m) => m.working()), Math.max(100, Math.floor(this.settings.ackWaitMs / 3)));
    try {
      while (!this.stopping && lease.held()) {
        // More members than when it was taken: hand one back, once the batch in hand is settled.
        // Dropped from the set at once, so that the consumer's other lanes see it and keep theirs.
        if (this.held.size > this.fairShare()) {
          this.held.delete(partition);
          return lease.held();
        }
        let arrivals: PullArrivals;
        try {
          arrivals = new PullArrivals(await consumer.fetch({ max_messages: batchSize, expires: LEASE_PULL_MS }), inHand);
        } catch {
          // The server is away or restarting: the messages not acked come again once it is back.
          await sleep(200);
          if (!(await this.afterFailure(consumer, lease))) return false;
          continue;
        }
        let failed = false;
        for (let got = await arrivals.next(); got.length > 0; got = await arrivals.next()) {
          if (this.stopping || !lease.held()) {
            // Taken but not started (a stop, or the lease lapsed): straight back to the group, in order.
            await this.giveBack([...got, ...(await arrivals.rest())], inHand);
            return lease.held() && !arrivals.failed;
          }
          const back = await this.handle(partition, got, lease, inHand).catch(() => {
            // An ack the server did not answer (it went away): not kept alive, so ack_wait brings them again.
            for (const m of got) inHand.delete(m);
            failed = true;
            return [];
          });
          if (back.length > 0) {
            // Behind what a retry gave back, the pull's later messages go back too, in order, once the
            // pull ended: naked while it is open, a message could come again into it, ahead of them.
            await this.giveBack([...back, ...(await arrivals.rest())], inHand);
            break;
          }
        }
        if ((failed || arrivals.failed) && !(await this.afterFailure(consumer, lease))) return false;
      }
      return lease.held();
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * After a pull or an ack failed (the server went away): messages may have been delivered to this
   * lane that it never saw (a pull drops what it buffered when its connection fails), and JetStream
   * redelivers those only after the ack wait; a pull sent before then would be served the
   * partition's later messages first. So while the durable counts messages awaiting their ack, the
   * lane waits out the ack wait (keeping its lease) before it pulls again. Resolves false when it
   * could not (a stop, or the lease lapsed meanwhile): the lease must then expire, not be released.
   */
  private async afterFailure(consumer: Consumer, lease: PartitionLease): Promise<boolean> {
    while (!this.stopping && lease.held()) {
      const info = await consumer.info().catch(() => undefined);
      if (info === undefined) {
        await sleep(200);
        continue;
      }
      if (info.num_ack_pending === 0) return true;
      await this.holdWhileHeld(this.settings.ackWaitMs + this.settings.leases.timing.renewMs, lease);
      return lease.held();
    }
    return false;
  }

  /**
   * Gives messages back in order (`nak()`): JetStream redelivers them before the partition's later
   * messages. Those never handed to the handler are counted as given back (see `returned`); a
   * retried one counts as an attempt.
   */
  private async giveBack(messages: Array<JsMsg | { retried: JsMsg }>, inHand: Set<JsMsg>): Promise<void> {
    for (const entry of messages) {
      const m = 'retried' in entry ? entry.retried : entry;
      m.nak();
      inHand.delete(m);
      if (!('retried' in entry)) this.returned.set(m.seq, (this.returned.get(m.seq) ?? 0) + 1);
    }
    // A nak is not confirmed and the server takes acks on a queue of their own: a pull sent at once could
    // be served first, with a new message in a slot the batch's acks freed, ahead of the given-back ones.
    await sleep(RETRY_MARGIN_MS);
  }

  /**
   * Handles a group of a pull's messages; returns what a retry left to give back, in order, after
   * holding it for the retry's delay (a holder that dies while it waits leaves messages that are due
   * within the ack wait, like any in flight).
   */
  private async handle(partition: number, got: JsMsg[], lease: PartitionLease, inHand: Set<JsMsg>): Promise<Array<JsMsg | { retried: JsMsg }>> {
    const mine: JsMsg[] = [];
    for (const m of got) {
      const only = rawHeaders(m.headers)[ONLY_GROUP_HEADER];
      if (only !== undefined && only !== this.options.group) await this.settle(m, inHand);
      else if (this.attemptOf(m) > this.settings.deliveryLimit) {
        // It was handed out too often without being settled (consumers that died holding it).
        await this.settings.deadLetter(fromNats(m.headers, m.data), new Error('delivery_limit'), this.attemptOf(m));
        await this.settle(m, inHand);
      } else mine.push(m);
    }
    if (mine.length === 0) return [];
    let retryDelay: number | undefined;
    const outcome: Array<'acked' | 'retried' | undefined> = mine.map(() => undefined);
    const deliveries = mine.map((m, i) =>
      this.deliveryOf(partition, m, inHand, (delay) => {
        outcome[i] = delay === undefined ? 'acked' : 'retried';
        if (delay !== undefined) retryDelay = Math.max(retryDelay ?? 0, delay);
      }),
    );
    if (this.options.batchHandler) await settleBatch(this.options.batchHandler, deliveries);
    else await settleOnce(this.options.handler, deliveries[0]!);
    // A retried message and the unsettled ones behind it wait out the delay here, held, then go back.
    if (retryDelay !== undefined) await this.holdWhileHeld(retryDelay, lease);
    return mine.flatMap((m, i): Array<JsMsg | { retried: JsMsg }> => (outcome[i] === 'acked' ? [] : outcome[i] === 'retried' ? [{ retried: m }] : [m]));
  }

  /** Acknowledges a message for good (waiting for the server's answer) and forgets it. */
  private async settle(m: JsMsg, inHand: Set<JsMsg>): Promise<void> {
    await m.ackAck();
    inHand.delete(m);
    this.returned.delete(m.seq);
  }

  /** Waits `ms`, less if the lease lapses meanwhile (its next holder takes the messages then). */
  private async holdWhileHeld(ms: number, lease: PartitionLease): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && lease.held()) await sleep(Math.min(100, until - Date.now()));
  }

  /** The message's attempt: its deliveries less the times this consumer gave it back unhandled. */
  private attemptOf(m: JsMsg): number {
    return m.info.deliveryCount - (this.returned.get(m.seq) ?? 0);
  }

  private deliveryOf(partition: number, m: JsMsg, inHand: Set<JsMsg>, settled: (retryDelay?: number) => void): Delivery {
    const message = fromNats(m.headers, m.data);
    const attempt = this.attemptOf(m);
    const deadLetter = async (error: unknown): Promise<void> => {
      await this.settings.deadLetter(message, error, attempt);
      await this.settle(m, inHand);
      settled();
    };
    return {
      message,
      attempt,
      partition,
      ack: async () => {
        await this.settle(m, inHand);
        settled();
      },
      deadLetter,
      retry: async (delayMs, error) => {
        if (attempt >= this.settings.deliveryLimit) return deadLetter(error ?? new Error(`delivery limit of ${this.settings.deliveryLimit} reached`));
        // Held for the delay and given back by pull(), with the batch's unsettled ones behind it.
        settled(Math.max(0, delayMs));
      },
    };
  }
}

/**
 * What one pull delivers, taken in groups: once a message arrived, every message that arrived
 * with it, without waiting for the pull to fill or expire. Each is put in `inHand` on arrival.
 */
class PullArrivals {
  private readonly iterator: AsyncIterator<JsMsg>;
  private ended = false;
  /** The pull ended with an error: messages it was delivered may be lost in its buffer. */
  failed = false;

  constructor(
    private readonly messages: ConsumerMessages,
    private readonly inHand: Set<JsMsg>,
  ) {
    this.iterator = messages[Symbol.asyncIterator]();
  }

  /** The next group, in arrival order; empty once the pull ended. */
  async next(): Promise<JsMsg[]> {
    const got: JsMsg[] = [];
    try {
      while (!this.ended) {
        const result = await this.iterator.next();
        if (result.done) this.ended = true;
        else {
          got.push(result.value);
          this.inHand.add(result.value);
          if (this.messages.getPending() === 0) break;
        }
      }
    } catch {
      // The server went away: what arrived is handled; what is not acked comes again once it is back.
      this.ended = true;
      this.failed = true;
    }
    return got;
  }

  /** Every message the pull delivers from now until it ends. */
  async rest(): Promise<JsMsg[]> {
    const all: JsMsg[] = [];
    for (let got = await this.next(); got.length > 0; got = await this.next()) all.push(...got);
    return all;
  }
}
