import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { BrokerConsumer, ConsumeOptions, Delivery } from '../broker.js';
import { brokerUnavailableError } from '../broker-errors.js';
import type { BrokerMessage } from '../broker-message.js';
import { settleBatch, settleOnce } from '../settle-once.js';
import { HandedOffsets, attemptAfter, decodeHanded, encodeHanded, type HandedCommit } from './kafka-handed-offsets.js';
import { INTERNAL_HEADER_PREFIX, fromKafka, rawHeaders } from './kafka-message.js';
import { kafkaNames } from './kafka-topology.js';

/** Set on a dead letter retried for one group: the topic's other groups pass over it. */
export const ONLY_GROUP_HEADER = `${INTERNAL_HEADER_PREFIX}only-group`;

export interface KafkaConsumerSettings {
  partitions: number;
  deliveryLimit: number;
  prefetch: number;
  heartbeatIntervalMs: number;
  /** Publishes a dead letter and resolves once Kafka acknowledged it (acks=all). */
  deadLetter: (message: BrokerMessage, error: unknown, attempt: number) => Promise<void>;
  onStopped: (consumer: KafkaConsumer) => void;
}

type Outcome = 'done' | 'retried' | 'unsettled';

/** How long records fetched ahead wait for the next batch of their partition before they are fetched again and handled as they are. */
const AHEAD_LIMIT_MS = 50;

/** A batch's records being handed out: from `next`, those `done`, and the resume of its partition once paused for a retry. */
interface Lane {
  records: KafkaMessage[];
  next: number;
  done: Set<string>;
  generation: number;
  /** The partition's commits in the lane's generation. */
  commits: Promise<HandedOffsets>;
  resume?: () => void;
}

/**
 * A group's consumer on kafkajs. Kafka assigns each partition to one member of the group, and
 * kafkajs hands a partition's records over one batch at a time, so the partition is the ordered
 * lane: records are handled one at a time (or in chunks of `prefetch` by a batch handler), and the
 * offset is committed only once a record is settled, in order. A retry pauses its partition for
 * the delay and hands the record again (no later record of the partition overtakes it); its attempt
 * count travels in the commit's metadata, so it survives rebalances and crashes. The settled
 * prefix is committed in the background and a handler seldom waits for a commit (`HandedOffsets`):
 * a commit awaited before and after each handling made every record two round trips slower, and
 * kafkajs fetches a broker's partitions again only once each of their batches is done.
 *
 * Why a pause and not a sleep in the batch: kafkajs fetches all the partitions one broker leads
 * together and fetches again only once every batch of the last fetch is done, so a batch that
 * sleeps holds its broker's other partitions. A paused partition leaves the fetch; the others flow.
 */
export class KafkaConsumer implements BrokerConsumer {
  private stopping = false;
  /** The batches being handled: a stop waits for them before it leaves the group. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Attempts of the records this member handed out since its last assignment, by partition and offset. */
  private attempts = new Map<number, Map<string, number>>();
  /** What the group's committed metadata said when this member got the partition. */
  private handedAtAssignment = new Map<number, Promise<HandedCommit>>();
  /** This generation's commits, by partition. */
  private commits = new Map<number, Promise<HandedOffsets>>();
  /** Cuts the delays of retries short when the consumer stops. */
  private readonly abort = new AbortController();
  /**
   * Records of a partition fetched and not handed yet, held for a batch handler until its next
   * batch comes (see `eachBatch`); and the partitions whose next batch is handled as it is.
   */
  private ahead = new Map<number, { generation: number; records: KafkaMessage[]; expire: NodeJS.Timeout }>();
  private readonly notAhead = new Set<number>();
  /** Counts rebalances: a lane of an earlier generation hands nothing more out. */
  private generation = 0;

  constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly options: ConsumeOptions,
    private readonly settings: KafkaConsumerSettings,
  ) {}

  async start(): Promise<void> {
    // A new generation: partitions may have moved, and what another member did to them is in the commits.
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.generation++;
      this.dropAhead();
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.generation++;
      this.dropAhead();
      this.attempts = new Map();
      this.handedAtAssignment = new Map();
      this.commits = new Map();
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.options.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.settings.partitions,
      eachBatch: async (payload) => {
        const running = this.eachBatch(payload);
        this.inFlight.add(running);
        try {
          await running;
        } finally {
          this.inFlight.delete(running);
        }
      },
    });
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // A retry's delay ends with the stop: the record is handed again by whichever member is next.
    this.abort.abort();
    this.dropAhead();
    // The batches in flight finish (taking nothing new) and commit before kafkajs is told to stop:
    // once it stops, it drops every commit, and the next member would handle those records again.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([...this.commits.values()].map(async (commits) => (await commits).final()));
    await this.consumer.disconnect().catch(() => {});
    this.settings.onStopped(this);
  }

  /**
   * Hands a batch out, or holds it for the next one. kafkajs fetches a partition's records as the
   * broker's record batches, and librdkafka's mock cluster answers a fetch with one of them (one
   * producer request's share of the partition): a batch handler would then get a record or two at
   * a time, one transaction each, and fall behind. So while the partition holds more records than
   * the batch (its high watermark is past it) and the handler's prefetch is not full, the records
   * wait for the next fetch, which comes at once: nothing is handed outside a batch, so a
   * rebalance still waits for every handler. Held records are not committed: after a rebalance or
   * a stop they are fetched again from the last commit.
   */
  private eachBatch(payload: EachBatchPayload): Promise<void> {
    const { partition, messages, highWatermark } = payload.batch;
    const held = this.ahead.get(partition);
    if (held) {
      clearTimeout(held.expire);
      this.ahead.delete(partition);
    }
    const before = held?.generation === this.generation ? held.records : [];
    const after = before.length === 0 ? messages : messages.filter((m) => BigInt(m.offset) > BigInt(before.at(-1)!.offset));
    const records = before.length === 0 ? messages : [...before, ...after];
    const last = records.at(-1);
    const prefetch = Math.max(1, this.options.prefetch ?? this.settings.prefetch);
    if (this.options.batchHandler && last && records.length < prefetch && BigInt(highWatermark) > BigInt(last.offset) + 1n && !this.notAhead.delete(partition) && !this.stopping) {
      // A high watermark that counts offsets no fetch returns (transaction markers) must not hold records for good: they are fetched again and handled.
      const expire = setTimeout(() => {
        if (this.ahead.get(partition)?.expire !== expire) return;
        this.ahead.delete(partition);
        this.notAhead.add(partition);
        try {
          this.consumer.seek({ topic: this.options.topic, partition, offset: records[0]!.offset });
        } catch {
          // A consumer that stopped meanwhile: the next member fetches them from the last commit.
        }
      }, AHEAD_LIMIT_MS);
      this.ahead.set(partition, { generation: this.generation, records, expire });
      payload.resolveOffset(last.offset);
      return Promise.resolve();
    }
    return this.drain(payload, { records, next: 0, done: new Set(), generation: this.generation, commits: this.commitsOf(partition) });
  }

  /**
   * Hands a batch's records out in order from `lane.next`. A retry with a delay pauses the
   * partition and goes on in the background once the delay is over, with the records in hand: a
   * new fetch would wait for every batch of the partition's broker (a handler that holds one
   * holds them all), and the retried record must come back after its delay all the same.
   */
  private async drain(payload: EachBatchPayload, lane: Lane): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const partition = batch.partition;
    const { records, done } = lane;
    let handedOn = false;
    // A handler may run for longer than the session: the member heartbeats meanwhile.
    const keepAlive = setInterval(() => void heartbeat().catch(() => {}), this.settings.heartbeatIntervalMs);
    try {
      // A rebalance ends the lane: the partition may be another member's now, which goes on from the last commit.
      while (lane.next < records.length && !handedOn && !this.stopping && lane.generation === this.generation && isRunning() && !isStale()) {
        const head = records[lane.next]!;
        if (!this.forThisGroup(head)) {
          done.add(head.offset);
        } else {
          const chunk = this.options.batchHandler ? this.chunkFrom(records, lane) : [head];
          const { outcomes, delayMs } = await this.handle(partition, chunk, await lane.commits);
          chunk.forEach((record, i) => outcomes[i] === 'done' && done.add(record.offset));
          if (delayMs > 0) {
            this.later(payload, lane, delayMs);
            handedOn = true;
          }
        }
        // The offset moves over the settled prefix only: Kafka's position is one number per partition.
        let advanced = lane.next;
        while (advanced < records.length && done.has(records[advanced]!.offset)) advanced++;
        if (advanced > lane.next) {
          const last = records[advanced - 1]!.offset;
          // In the background: the partition's next records need not wait for it (see HandedOffsets).
          (await lane.commits).settledTo(BigInt(last) + 1n);
          resolveOffset(last);
          lane.next = advanced;
        }
      }
    } finally {
      clearInterval(keepAlive);
      // The partition is fetched again from its resolved offset (paused, kafkajs would never fetch it, whoever owns it next).
      if (!handedOn) lane.resume?.();
    }
  }

  /** A batch handler's next records: up to the prefetch, from the lane's head, those not settled and for this group (read no further than needed: a batch from Kafka may hold thousands). */
  private chunkFrom(records: KafkaMessage[], lane: Lane): KafkaMessage[] {
    const size = Math.max(1, this.options.prefetch ?? this.settings.prefetch);
    const chunk: KafkaMessage[] = [];
    for (let i = lane.next; i < records.length && chunk.length < size; i++) {
      const record = records[i]!;
      if (!lane.done.has(record.offset) && this.forThisGroup(record)) chunk.push(record);
    }
    return chunk;
  }

  /** Forgets the records held ahead: whoever gets their partitions fetches them again from the last commit. */
  private dropAhead(): void {
    for (const held of this.ahead.values()) clearTimeout(held.expire);
    this.ahead.clear();
    this.notAhead.clear();
  }

  /** Pauses the lane's partition and goes on with the lane after `delayMs` (cut short by a stop). */
  private later(payload: EachBatchPayload, lane: Lane, delayMs: number): void {
    lane.resume ??= payload.pause();
    const running: Promise<void> = sleep(delayMs, undefined, { signal: this.abort.signal })
      .catch(() => {})
      .then(() => this.drain(payload, lane))
      // A commit that failed: the partition, resumed, is fetched again from its resolved offset, so nothing unsettled is lost.
      .catch(() => {})
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  private forThisGroup(record: KafkaMessage): boolean {
    const onlyGroup = rawHeaders(record)[ONLY_GROUP_HEADER];
    return onlyGroup === undefined || onlyGroup === this.options.group;
  }

  /** Hands records (one, or a batch handler's chunk) to the handler and says what became of each. */
  private async handle(partition: number, chunk: KafkaMessage[], commits: HandedOffsets): Promise<{ outcomes: Outcome[]; delayMs: number }> {
    const attempts = await Promise.all(chunk.map((record) => this.attemptOf(partition, record.offset)));
    await commits.beforeHandling(chunk.map((record, i) => ({ offset: BigInt(record.offset), attempt: attempts[i]! })));
    const outcomes: Outcome[] = chunk.map(() => 'unsettled');
    let delayMs = 0;
    const deliveries = chunk.map((record, i) =>
      this.deliveryOf(partition, record, attempts[i]!, (outcome, delay = 0) => {
        outcomes[i] = outcome;
        delayMs = Math.max(delayMs, delay);
      }),
    );
    if (this.options.batchHandler) {
      const unsettled = await settleBatch(this.options.batchHandler, deliveries);
      for (const i of unsettled) outcomes[i] = 'unsettled';
    } else {
      await settleOnce(this.options.handler, deliveries[0]!);
    }
    return { outcomes, delayMs };
  }

  private deliveryOf(partition: number, record: KafkaMessage, attempt: number, settled: (outcome: Outcome, delayMs?: number) => void): Delivery {
    const message = fromKafka(record);
    const deadLetter = async (error: unknown): Promise<void> => {
      await this.settings.deadLetter(message, error, attempt);
      settled('done');
    };
    return {
      message,
      attempt,
      partition,
      ack: async () => settled('done'),
      deadLetter,
      retry: async (delayMs, error) => {
        if (attempt >= this.settings.deliveryLimit) return deadLetter(error ?? new Error(`delivery limit of ${this.settings.deliveryLimit} reached`));
        this.attemptsOf(partition).set(record.offset, attempt + 1);
        settled('retried', delayMs);
      },
    };
  }

  private attemptsOf(partition: number): Map<string, number> {
    let map = this.attempts.get(partition);
    if (!map) this.attempts.set(partition, (map = new Map()));
    return map;
  }

  /** 1 for a record nobody had, or one more than the handing-out the group's commit recorded. */
  private async attemptOf(partition: number, offset: string): Promise<number> {
    const seen = this.attemptsOf(partition).get(offset);
    if (seen !== undefined) return seen;
    const attempt = attemptAfter(await this.atAssignment(partition), BigInt(offset));
    this.attemptsOf(partition).set(offset, attempt);
    return attempt;
  }

  private atAssignment(partition: number): Promise<HandedCommit> {
    let read = this.handedAtAssignment.get(partition);
    if (!read) {
      read = this.committed(partition);
      this.handedAtAssignment.set(partition, read);
      read.catch(() => this.handedAtAssignment.delete(partition));
    }
    return read;
  }

  /** The partition's commits in this generation, starting from what the group held at assignment. */
  private commitsOf(partition: number): Promise<HandedOffsets> {
    let commits = this.commits.get(partition);
    if (!commits) {
      const generation = this.commits;
      commits = this.atAssignment(partition).then(
        (assigned) =>
          new HandedOffsets(assigned, (commit) => this.commit(partition, commit), (running) => {
            this.inFlight.add(running);
            void running.finally(() => this.inFlight.delete(running));
          }),
      );
      generation.set(partition, commits);
      commits.catch(() => generation.delete(partition));
    }
    return commits;
  }

  private async committed(partition: number): Promise<HandedCommit> {
    try {
      const [topic] = await this.admin.fetchOffsets({ groupId: kafkaNames.groupId(this.options.topic, this.options.group), topics: [this.options.topic] });
      const found = topic?.partitions.find((p) => p.partition === partition);
      return decodeHanded(BigInt(found?.offset ?? '-1'), found?.metadata);
    } catch (error) {
      throw brokerUnavailableError('Kafka', error);
    }
  }

  private async commit(partition: number, commit: HandedCommit): Promise<void> {
    try {
      await this.consumer.commitOffsets([{ topic: this.options.topic, partition, offset: String(commit.offset), metadata: encodeHanded(commit) }]);
    } catch (error) {
      // The partition may have moved to another member: it goes on from the last commit that succeeded.
      throw brokerUnavailableError('Kafka', error);
    }
  }
}
