import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { BrokerConsumer, ConsumeOptions, Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import { settleBatch, settleOnce } from '../settle-once.js';
import { INTERNAL_HEADER_PREFIX, fromNats, rawHeaders } from './nats-message.js';
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
}

/** How long one pull waits for messages: the latency of a stop, and of a batch that is not full. */
const PULL_EXPIRES_MS = 1000;
/** How much later than a batch's retry delay its lane pulls again. */
const RETRY_MARGIN_MS = 100;

/**
 * A group's consumer: one pull loop per partition on the group's durable consumer of that
 * partition's subject. The durable's `max_ack_pending` (1 for a handler, the prefetch for a batch
 * handler) is what keeps one key's order across competing consumers: JetStream hands out nothing
 * more of the partition until the messages out are settled. A retry is a `nak(delay)`: the
 * server redelivers after the delay, and the partition stays held meanwhile.
 *
 * Known gap: that holds across processes at 1 only. With a batch handler's prefetch above 1, two
 * processes' pulls of one partition both get messages while fewer than the prefetch are out, and
 * a key's messages are handled by both at once, out of order (two EventConsumers of one group
 * handled a stream as 1, 3, 5, 7, 9, 2, 4, ... in nats-cluster.serial.int.test.ts). Until a partition has
 * one owner at a time (a lease), competing consumers of one group on NATS need `prefetch: 1`.
 */
export class NatsConsumer implements BrokerConsumer {
  private stopping = false;
  private readonly loops: Array<Promise<void>> = [];
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
    consumers.forEach((consumer, p) => this.loops.push(this.pull(consumer, p)));
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.allSettled(this.loops);
    this.settings.onStopped(this);
  }

  private async pull(consumer: Consumer, partition: number): Promise<void> {
    const batchSize = this.options.batchHandler ? this.settings.prefetch : 1;
    while (!this.stopping) {
      const got: JsMsg[] = [];
      try {
        const messages = await consumer.fetch({ max_messages: batchSize, expires: PULL_EXPIRES_MS });
        for await (const m of messages) got.push(m);
      } catch {
        // The server is away or restarting: the messages not acked come again once it is back.
        if (got.length === 0) {
          await sleep(200);
          continue;
        }
      }
      if (got.length === 0) continue;
      if (this.stopping) {
        // Taken but not started: straight back to the group.
        for (const m of got) m.nak();
        return;
      }
      const retryDelay = await this.handle(partition, got).catch(() => undefined);
      // A batch's slots freed by its acks would let a new message overtake the retried ones: pull again
      // once they are due. The server's redelivery timer is not exact, hence the margin (see the README).
      if (retryDelay !== undefined) await sleep(retryDelay + RETRY_MARGIN_MS);
    }
  }

  /** Handles what one pull got; resolves to the delay of a retry among them, if any. */
  private async handle(partition: number, got: JsMsg[]): Promise<number | undefined> {
    const mine: JsMsg[] = [];
    for (const m of got) {
      const only = rawHeaders(m.headers)[ONLY_GROUP_HEADER];
      if (only !== undefined && only !== this.options.group) await m.ackAck();
      else if (this.attemptOf(m) > this.settings.deliveryLimit) {
        // It was handed out too often without being settled (consumers that died holding it).
        await this.settings.deadLetter(fromNats(m.headers, m.data), new Error('delivery_limit'), this.attemptOf(m));
        await m.ackAck();
        this.returned.delete(m.seq);
      } else mine.push(m);
    }
    if (mine.length === 0) return undefined;
    // Tells JetStream the handler is still on it, so that ack_wait only redelivers what a dead consumer held.
    const keepAlive = setInterval(() => mine.forEach((m) => m.working()), Math.max(100, Math.floor(this.settings.ackWaitMs / 3)));
    try {
      let retryDelay: number | undefined;
      const settled = mine.map(() => false);
      const deliveries = mine.map((m, i) => this.deliveryOf(partition, m, (delay) => {
        settled[i] = true;
        if (delay !== undefined) retryDelay = Math.max(retryDelay ?? 0, delay);
      }));
      if (this.options.batchHandler) await settleBatch(this.options.batchHandler, deliveries);
      else await settleOnce(this.options.handler, deliveries[0]!);
      // The unsettled ones of a batch come back behind a retried one: naked after it, with its delay.
      mine.forEach((m, i) => {
        if (settled[i]) return;
        m.nak(retryDelay ?? 0);
        this.returned.set(m.seq, (this.returned.get(m.seq) ?? 0) + 1);
      });
      return retryDelay;
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** The message's attempt: its deliveries less the times this consumer gave it back unhandled. */
  private attemptOf(m: JsMsg): number {
    return m.info.deliveryCount - (this.returned.get(m.seq) ?? 0);
  }

  private deliveryOf(partition: number, m: JsMsg, settled: (retryDelay?: number) => void): Delivery {
    const message = fromNats(m.headers, m.data);
    const attempt = this.attemptOf(m);
    const deadLetter = async (error: unknown): Promise<void> => {
      await this.settings.deadLetter(message, error, attempt);
      await m.ackAck();
      this.returned.delete(m.seq);
      settled();
    };
    return {
      message,
      attempt,
      partition,
      ack: async () => {
        await m.ackAck();
        this.returned.delete(m.seq);
        settled();
      },
      deadLetter,
      retry: async (delayMs, error) => {
        if (attempt >= this.settings.deliveryLimit) return deadLetter(error ?? new Error(`delivery limit of ${this.settings.deliveryLimit} reached`));
        m.nak(Math.max(0, delayMs));
        settled(Math.max(0, delayMs));
      },
    };
  }
}
