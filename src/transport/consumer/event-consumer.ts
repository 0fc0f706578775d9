import type { Logger } from '../../core/logger.js';
import { gaugeRunner } from '../../core/telemetry/instruments.js';
import { tracedHandling } from '../../core/telemetry/spans.js';
import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { retryDelays, type RetryPolicy } from '../../core/retry-policy.js';
import { consumerStorageFor } from '../../consumers/consumer-storage.js';
import { DeadLetterRequestWorker } from '../../consumers/dead-letter-request-worker.js';
import { RunnerReports } from '../../consumers/runner-reports.js';
import type { EventRegistry } from '../../schema/event-registry.js';
import { eventRegistryOf } from '../../schema/registered-event-store.js';
import type { Broker, BrokerConsumer, BrokerDeadLetters, Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import type { EventConsumerDeadLetter } from './consumer-dead-letters.js';
import { ConsumerOutcomes, type ConsumerCounts, type EventConsumerFailure } from './consumer-outcomes.js';
import { ConsumerHandlerContext, storelessWrites, type EventConsumerHandler } from './event-consumer-context.js';
import { HeldMessages } from './held-messages.js';
import { readMessageEvent } from './read-message-event.js';
import { StoredConsumption } from './stored-consumption.js';

/** Options of `EventConsumer`. */
export interface EventConsumerOptions {
  /** Names the inbox rows (and the group by default); stable across restarts and processes. */
  name: string;
  broker: Broker;
  /** What the producer publishes to (the relay's destination). */
  topic: string;
  /** Consumers sharing the work; every group gets each message once. `name` by default. */
  group?: string;
  /**
   * With a store, each message is handled in one store transaction with its inbox row, the
   * handler's `context.sql` and its `context.append`, and acked only after the commit: a
   * duplicate is acked without running the handler. Without one, delivery is at-least-once.
   */
  store?: EventStore;
  /** Validates and upcasts each message; the store's registry (a wrapped store) by default. */
  registry?: EventRegistry;
  /** Retries of a failing handler before its message is dead-lettered; `DEFAULT_RETRY_POLICY` by default. */
  retry?: RetryPolicy;
  /** Unacknowledged messages held per partition (the broker's default when absent). */
  prefetch?: number;
  handler: EventConsumerHandler;
  /** Told of every failure that does not stop the consumer: a failed attempt, a dead letter, a failed ack. */
  onError?: (error: unknown, message: BrokerMessage) => void;
  /** Where errors, dead letters and state changes are logged (pino-compatible); silent by default. */
  logger?: Logger;
  /**
   * With a SQL store, how often the running consumer writes its lag and state to the store's
   * runner reports, where `factum runners`, `factum serve` and the dashboard read them (they
   * cannot reach the broker); 5,000 ms by default, 0 for never.
   */
  reportIntervalMs?: number;
}

/** Where an `EventConsumer` stands; the counts are since `start()` in this process. */
export interface EventConsumerStatus extends ConsumerCounts {
  name: string;
  topic: string;
  group: string;
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  /**
   * Keys held behind a dead letter, as this process last saw them (with a store only): its own
   * dead letters and drains, the keys it found blocked, and those in the store at `start()`.
   */
  blockedKeys: string[];
  lastFailure?: EventConsumerFailure;
  /** The lag as `lag()` last read it (0 before the first read). */
  lagEvents: number;
  lagSeconds: number;
  /**
   * Messages settled since `start()` (handled, duplicates, dead-lettered, parked): the
   * consumer's progress, which the `ConsistencyMonitor` reads, since it has no log position.
   */
  position: bigint;
}

/** An `EventConsumer`'s lag: what its group has not settled of the topic. */
export interface EventConsumerLag {
  /** Messages not settled, as the broker counts them (without `Broker.lag`: those this consumer holds in its handlers). */
  events: number;
  /**
   * Age of the oldest of them in seconds: by the broker's timestamp where it tells one (NATS,
   * Redis), and by the event's `recordedAt` for what this consumer holds; 0 when none is known.
   */
  seconds: number;
}

/**
 * Consumes factum events from a broker in another service: each message is read from its
 * envelope, validated and upcast with the registry, and handled, with a store, in one
 * transaction with its inbox row (message id + consumer name), so a relay's re-publish or a
 * broker's redelivery has its effect once; the ack follows the commit.
 *
 * A failing handler is retried with the `RetryPolicy`'s delays through the broker
 * (`delivery.retry`): the key's later messages wait behind it (the broker's lanes keep per-key
 * order), the other lanes flow. After the last retry the message becomes a dead letter with its
 * error, listed, retried and skipped through `deadLetters`, `retryDeadLetter`, `skipDeadLetter`.
 * A message that no retry can fix (data its schema refuses, a version newer than this code
 * knows) is dead-lettered at once.
 *
 * With a store, dead letters are sequenced (per-key order holds through them): the dead letter
 * goes to the store's dead-letter table (subscription `consumer:<name>`, stream id = the key) and
 * blocks its key; the key's later messages are parked there behind it, in order, and acked from
 * the broker, in the transaction that checked the key (under a lock per consumer and key, so a
 * drain in another process never interleaves). The other keys flow. `retryDeadLetter` (or
 * `skipDeadLetter`) drains the key: the dead letter (unless skipped) then the parked messages,
 * each in its own inbox transaction with the removal of its row; a message arriving meanwhile is
 * parked behind them or handled after them. A restart keeps the key blocked. On a SQL store an
 * operator in another process can ask for the retry or skip (`factum dead-letters retry|skip`):
 * a running consumer of the group claims the request within a second and carries it out here.
 *
 * A message that is not a factum event at all (no envelope: nothing to store as an event) goes to
 * the broker's dead letters as without a store and does not block its key: it belongs to no
 * stream whose order it could break. `deadLetters()` lists the store's letters and then those.
 *
 * @example
 * const billing = new EventConsumer({
 *   name: 'billing', broker, topic: 'order', store, registry,
 *   handler: async (event, context) => {
 *     await context.sql!.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.streamId])
 *   },
 * })
 * await billing.start()
 * console.log(billing.status().handled)
 * await billing.stop()
 */
export class EventConsumer {
  readonly name: string;
  readonly topic: string;
  readonly group: string;
  private readonly registry?: EventRegistry;
  private consumer?: BrokerConsumer;
  private state: EventConsumerStatus['state'] = 'idle';
  private readonly outcomes: ConsumerOutcomes;
  /** With a store: the inbox transactions and the sequenced dead letters. */
  private readonly stored?: StoredConsumption;
  /** The options' handler in its span. */
  private readonly handler: EventConsumerHandler;
  /** With a SQL store: retries and skips an operator asked for in the database, carried out here. */
  private requests?: DeadLetterRequestWorker;
  private readonly held = new HeldMessages();
  private lastLag: EventConsumerLag = { events: 0, seconds: 0 };
  private ungauge?: () => void;
  private reportTimer?: NodeJS.Timeout;
  private reporting?: Promise<void>;

  constructor(private readonly options: EventConsumerOptions) {
    if (!options.name) throw new FactumError('INVALID_ARGUMENT', 'An EventConsumer needs a name (it names its inbox rows)');
    if (!options.topic) throw new FactumError('INVALID_ARGUMENT', `EventConsumer "${options.name}" needs a topic`);
    this.name = options.name;
    this.topic = options.topic;
    this.group = options.group ?? options.name;
    // Checked now, so that a bad policy fails at construction and not at the first failure.
    retryDelays(options.retry);
    this.outcomes = new ConsumerOutcomes(this.name, options.onError, options.logger);
    // One span per message, parented by its producer's context from the headers (and so by the append that made it).
    const runner = { name: this.name, system: options.broker.system ?? 'unknown', destination: this.topic };
    this.handler = (event, context) => tracedHandling(runner, event, async () => options.handler(event, context));
    const registry = options.registry ?? (options.store ? eventRegistryOf(options.store) : undefined);
    if (registry) this.registry = registry;
    if (options.store) {
      this.stored = new StoredConsumption(
        {
          name: this.name,
          store: options.store,
          storage: consumerStorageFor(options.store),
          registry,
          retry: options.retry,
          partitions: options.broker.capabilities.partitions,
          handler: this.handler,
          isStopping: () => this.state === 'stopping',
        },
        this.outcomes,
      );
    }
  }

  /** Declares the group where the broker needs it and starts consuming; resolves once running. */
  async start(): Promise<this> {
    if (this.state === 'running') return this;
    if (this.state === 'stopping') throw new FactumError('INVALID_ARGUMENT', `EventConsumer "${this.name}" is stopping`);
    const stored = this.stored;
    // Before the first message: keys blocked in the store stay blocked (and a drain a crash cut short resumes).
    await stored?.sequenced.load();
    this.consumer = await this.options.broker.consume({
      topic: this.topic,
      group: this.group,
      handler: (delivery) => this.held.during([delivery], () => this.onDelivery(delivery)),
      // With a store, what a partition holds is handled in one transaction (a savepoint per message that writes).
      ...(stored ? { batchHandler: (deliveries: Delivery[]) => this.held.during(deliveries, () => stored.onBatch(deliveries)) } : {}),
      ...(this.options.prefetch === undefined ? {} : { prefetch: this.options.prefetch }),
    });
    this.state = 'running';
    if (stored && this.options.store) {
      const sequenced = stored.sequenced;
      // Any consumer of the group may carry a request out: the claim is atomic, and the key's lock orders it with the others' checks.
      this.requests = DeadLetterRequestWorker.for(this.options.store, sequenced.subscription, 1000, {
        retry: (id) => sequenced.retryRow(id),
        resume: (key) => sequenced.resume(key),
        letters: (key) => sequenced.letters(key),
        covers: () => true,
        reportError: (error) => this.backgroundError(error, 'dead-letter requests'),
      });
      this.requests?.start();
    }
    this.ungauge = gaugeRunner({ name: this.name, kind: 'consumer', lag: () => this.lag(), status: () => this.status() });
    this.startReports();
    this.options.logger?.info({ runner: this.name, state: 'running' }, `${this.name}: running`);
    return this;
  }

  /** Takes no new message, lets the handlers in flight finish (commit and ack), then resolves. */
  async stop(): Promise<void> {
    // A consumer that only drained dead letters (never started) may have a retry armed.
    this.stored?.sequenced.stop();
    if (!this.consumer) return;
    this.state = 'stopping';
    await this.requests?.stop();
    this.requests = undefined;
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer.stop();
    this.stored?.sequenced.stop();
    this.state = 'stopped';
    this.ungauge?.();
    await this.stopReports();
    this.options.logger?.info({ runner: this.name, state: 'stopped' }, `${this.name}: stopped`);
  }

  status(): EventConsumerStatus {
    const { lastFailure } = this.outcomes;
    return {
      name: this.name,
      topic: this.topic,
      group: this.group,
      state: this.state,
      ...this.outcomes.counts,
      blockedKeys: this.stored?.sequenced.blockedKeys() ?? [],
      ...(lastFailure ? { lastFailure } : {}),
      lagEvents: this.lastLag.events,
      lagSeconds: this.lastLag.seconds,
      position: BigInt(this.settled()),
    };
  }

  /**
   * Reads the group's lag on the topic now: the broker's count of what the group has not settled
   * (`Broker.lag`; on RabbitMQ, which cannot count the unacked messages of other processes, a
   * lower bound by up to their prefetch). `factum_lag_events` and `factum_lag_seconds` (kind
   * `consumer`) and the `ConsistencyMonitor` read it.
   *
   * @example
   * const { events, seconds } = await billing.lag()
   */
  async lag(): Promise<EventConsumerLag> {
    const broker = await this.options.broker.lag?.(this.topic, this.group);
    const lag = {
      events: broker ? broker.messages : this.held.count,
      seconds: Math.max(broker?.oldestSeconds ?? 0, this.held.oldestSeconds()),
    };
    this.lastLag = lag;
    return lag;
  }

  /**
   * The dead letters, each with its error and attempts. With a store: the store's letters (dead,
   * and the messages parked behind them, in key order), then the broker's (messages that are no
   * factum event); without one, the broker's.
   */
  async deadLetters(): Promise<EventConsumerDeadLetter[]> {
    const stored = this.stored ? await this.stored.sequenced.list() : [];
    const broker = (await this.letters().list()).map((letter) => ({ ...letter, status: 'dead' as const, key: letter.message.key }));
    return [...stored, ...broker];
  }

  /**
   * With a store: handles the dead letter (in its inbox transaction), then the messages parked
   * behind it, in order, and unblocks the key; one that fails again is the key's dead letter
   * now. Without a store (or for a message that is no factum event): publishes it to the group
   * again, from attempt 1, after its key's messages so far. `DEAD_LETTER_NOT_FOUND` when it is
   * neither.
   */
  async retryDeadLetter(messageId: string): Promise<void> {
    const sequenced = this.stored?.sequenced;
    if (sequenced && (await sequenced.has(messageId))) await sequenced.retry(messageId, false);
    else await this.letters().retry(messageId);
  }

  /** Drops the dead letter for good, unhandled (with a store: then drains its key's parked messages, as `retryDeadLetter`). */
  async skipDeadLetter(messageId: string): Promise<void> {
    const sequenced = this.stored?.sequenced;
    if (sequenced && (await sequenced.has(messageId))) await sequenced.retry(messageId, true);
    else await this.letters().skip(messageId);
  }

  private settled(): number {
    const { handled, duplicates, deadLettered, parked } = this.outcomes.counts;
    return handled + duplicates + deadLettered + parked;
  }

  /** With a SQL store, writes the lag and state every `reportIntervalMs` for the operating tools. */
  private startReports(): void {
    const reports = this.options.store && RunnerReports.of(this.options.store);
    const interval = this.options.reportIntervalMs ?? 5000;
    if (!reports || !(interval > 0)) return;
    const report = () => {
      // One at a time: a slow broker or database must not pile them up.
      this.reporting ??= this.writeReport(reports).finally(() => (this.reporting = undefined));
    };
    report();
    this.reportTimer = setInterval(report, interval);
    this.reportTimer.unref();
  }

  private async stopReports(): Promise<void> {
    clearInterval(this.reportTimer);
    this.reportTimer = undefined;
    await this.reporting;
    // The last word: an operator then sees it stopped rather than a report growing old.
    const reports = this.options.store && RunnerReports.of(this.options.store);
    if (reports && (this.options.reportIntervalMs ?? 5000) > 0) await this.writeReport(reports);
  }

  private async writeReport(reports: RunnerReports): Promise<void> {
    try {
      // A broker away still gets a report, with the lag last read: the state says the rest.
      const lag = this.state === 'running' ? await this.lag().catch(() => this.lastLag) : this.lastLag;
      await reports.write({
        name: this.name,
        kind: 'consumer',
        state: this.state,
        lagEvents: lag.events,
        lagSeconds: lag.seconds,
        settled: this.settled(),
        details: { topic: this.topic, group: this.group, system: this.options.broker.system ?? 'unknown' },
      });
    } catch (error) {
      this.backgroundError(error, 'runner report');
    }
  }

  /** A failure of background work (requests, reports) that is about no message. */
  private backgroundError(error: unknown, what: string): void {
    // An empty message stands for "no message" in the callback's shape.
    this.options.onError?.(error, { id: '', key: '', headers: {}, body: new Uint8Array() });
    this.options.logger?.error({ runner: this.name, err: error }, `${this.name}: ${what}`);
  }

  private letters(): BrokerDeadLetters {
    return this.options.broker.deadLetters(this.topic, this.group);
  }

  /** One message; without a store, at least once: read, handled, acked. */
  private async onDelivery(delivery: Delivery): Promise<void> {
    if (this.stored) return this.stored.onDelivery(delivery);
    const { counts } = this.outcomes;
    counts.inFlight++;
    try {
      let event: RecordedEvent;
      try {
        event = await readMessageEvent(delivery.message, this.registry);
      } catch (error) {
        // No retry can make it readable: parked now, and the key's next message goes on.
        return await this.outcomes.failed(delivery, error, undefined);
      }
      try {
        await this.handle(event, delivery);
      } catch (error) {
        return await this.outcomes.failed(delivery, error, retryDelays(this.options.retry)[delivery.attempt - 1]);
      }
      await delivery.ack();
      counts.handled++;
    } catch (error) {
      // A broker that went away while settling: the message comes again.
      this.outcomes.report(error, delivery.message);
    } finally {
      counts.inFlight--;
    }
  }

  /** Runs the handler without a store. */
  private async handle(event: RecordedEvent, delivery: Delivery): Promise<void> {
    const writes = storelessWrites();
    try {
      await this.handler(event, new ConsumerHandlerContext(undefined, this.name, delivery, writes, undefined));
    } catch (error) {
      writes.settle(false);
      throw error;
    }
    writes.settle(true);
  }
}
