import { instruments, secondsSince } from '../../core/telemetry/instruments.js';
import { tracedPublish } from '../../core/telemetry/spans.js';
import type { RecordedEvent } from '../../core/message.js';
import { retryDelays, type RetryPolicy } from '../../core/retry-policy.js';
import type { BatchOutcome } from '../../consumers/deliver-batch.js';
import { Sleeper } from '../../consumers/mutex.js';
import type { Broker } from '../broker.js';
import { brokerUnavailableError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { eventToMessage } from '../message-envelope.js';
import { fitsIn, messageBytes } from '../message-bytes.js';
import type { RelayRoute } from './relay-route.js';

/**
 * The backoff of a relay while its broker is unavailable: quick at first, then every 5 s. The
 * relay never gives up: once the policy's retries are used, it goes on at the last delay.
 *
 * @example
 * new Relay(store, { name: 'outbox', broker, retry: { ...RELAY_RETRY_POLICY, maxDelayMs: 1000 } })
 */
export const RELAY_RETRY_POLICY: RetryPolicy = { immediateRetries: 0, backoffRetries: 6, initialDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: 0.5 };

/** One message of a batch on its way: the event's index in the batch, its topic, the message. */
interface Send {
  index: number;
  topic: string;
  message: BrokerMessage;
}

/**
 * What the relay's publishing shows in its status.
 *
 * @example
 * const { published, lastConfirmAt, confirmLatencyMs } = relay.status()
 */
export interface RelayPublishStats {
  /** Messages this instance has seen confirmed. */
  published: number;
  lastConfirmAt?: Date;
  /** How long the last publish call took from send to the broker's last answer, in milliseconds. */
  confirmLatencyMs?: number;
  /** Set while messages wait for the broker to come back (their first `unavailable` answer). */
  waitingForBrokerSince?: Date;
}

/**
 * Publishes a relay's batches: each event routed to its topic, one `broker.publish` per topic,
 * the topics at the same time. Batches overlap (the relay hands over the next page while the
 * last one waits for its confirms); the broker sends concurrent publishes in call order, so
 * first copies go out in log order. Messages the broker did not confirm (`unavailable`) are
 * published again after a backoff, and with them the later messages of their streams, so the
 * last copy of a stream's messages is always in order. Across batches the same holds: a batch
 * takes its answers only after the batches before it are done, and publishes again its messages
 * of every stream that an earlier batch published again after this batch went out. A refusal is
 * final (the relay dead-letters the event); a message larger than the broker takes is refused
 * here, before anything of its stream is sent.
 *
 * @example
 * const outcomes = await publisher.publishBatch(page.events)
 */
export class RelayPublisher {
  readonly stats: RelayPublishStats = { published: 0 };
  private readonly sleeper = new Sleeper();
  private stopping = false;
  /** The batch handed over last: the next one takes its answers after it. */
  private tail: Promise<unknown> = Promise.resolve();
  private batchesInFlight = 0;
  /** Counts `send` calls: a send with a higher number went out after one with a lower number. */
  private sendCount = 0;
  /** Per stream, the number of the latest send that published its messages again (while batches are in flight). */
  private readonly resentAt = new Map<string, number>();
  /** Batches publishing again what the broker did not confirm. */
  private recovering = 0;
  /** Batches whose first publish waits for the batch before them (see `publishBatch`). */
  private deferred = 0;

  constructor(
    /** The `relay` label of its metrics. */
    private readonly name: string,
    private readonly broker: Broker,
    private readonly route: RelayRoute,
    private readonly retry: RetryPolicy,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** One outcome per event: `done` (confirmed, or routed nowhere), `failed` (refused), or `pending` (the relay stopped while the broker was away). */
  publishBatch(events: RecordedEvent[]): Promise<BatchOutcome[]> {
    const outcomes: BatchOutcome[] = events.map(() => ({ status: 'done' }));
    const sends: Send[] = [];
    const refusedStreams = new Set<string>();
    events.forEach((event, index) => {
      const topic = this.route(event);
      if (topic === undefined || refusedStreams.has(event.streamId)) return;
      const message = eventToMessage(event);
      const limit = this.broker.capabilities.maxMessageBytes;
      if (fitsIn(message, limit)) return void sends.push({ index, topic, message });
      outcomes[index] = { status: 'failed', error: messageRefusedError('broker', message.id, 'too_large', `${messageBytes(message)} bytes, the limit is ${limit}`) };
      // Its later events must not overtake it: they are parked behind it unsent.
      refusedStreams.add(event.streamId);
    });
    const previous = this.tail;
    // Sent now, in call order, unless an earlier batch is publishing again what the broker did
    // not confirm: then after it, so that once the broker is back the first copy of a stream's
    // later message never arrives before the copy of an earlier one that was lost (a consumer's
    // inbox would take the first copy and skip the in-order one). Answered in call order.
    // (And after any batch that waits so: they all go in call order.)
    const first = this.recovering > 0 || this.deferred > 0 ? this.deferredSend(sends, previous) : Promise.resolve(this.sendFirst(sends));
    this.batchesInFlight++;
    const result = this.answer(events, outcomes, sends, first, previous).finally(() => {
      if (--this.batchesInFlight === 0) this.resentAt.clear();
    });
    this.tail = result.catch(() => {});
    return result;
  }

  private async deferredSend(sends: Send[], previous: Promise<unknown>): Promise<{ sentAs: number; results: Promise<PublishResult[]> }> {
    this.deferred++;
    try {
      await previous;
      return this.sendFirst(sends);
    } finally {
      this.deferred--;
    }
  }

  /** A batch's first publish, and the number of its send (see `resentAt`). */
  private sendFirst(sends: Send[]): { sentAs: number; results: Promise<PublishResult[]> } {
    const sentAs = this.sendCount;
    if (this.stopping) return { sentAs, results: Promise.resolve(sends.map((s): PublishResult => ({ messageId: s.message.id, status: 'unavailable', error: brokerUnavailableError('broker', new Error('the relay is stopping')) }))) };
    return { sentAs, results: sends.length > 0 ? this.send(sends) : Promise.resolve([]) };
  }

  /** Takes a batch's answers once the batches before it are done; publishes again what must be. */
  private async answer(events: RecordedEvent[], outcomes: BatchOutcome[], sends: Send[], first: Promise<{ sentAs: number; results: Promise<PublishResult[]> }>, previous: Promise<unknown>): Promise<BatchOutcome[]> {
    const { sentAs, results: firstResults } = await first;
    let results = await firstResults;
    // Known at once, not when its turn comes: a batch handed over meanwhile must already wait.
    let recovering = results.some((r) => r.status === 'unavailable');
    if (recovering) this.recovering++;
    try {
      await previous;
      // An earlier batch published a stream again after this one went out: this batch's messages of it go again, after that copy.
      const overtaken = (streamId: string) => (this.resentAt.get(streamId) ?? -1) > sentAs;
      let todo = sends;
      let delays: number[] | undefined;
      for (let attempt = 0; todo.length > 0; attempt++) {
        const again: Send[] = [];
        const unconfirmed = new Set<string>();
        let lastError: unknown;
        todo.forEach((send, i) => {
          const result = results[i]!;
          const streamId = events[send.index]!.streamId;
          if (result.status === 'unavailable' || unconfirmed.has(streamId) || (attempt === 0 && overtaken(streamId))) {
            again.push(send);
            unconfirmed.add(streamId);
            if (result.status === 'unavailable') lastError = result.error;
          } else if (result.status === 'refused') {
            outcomes[send.index] = { status: 'failed', error: result.error };
          } else {
            outcomes[send.index] = { status: 'done' };
          }
        });
        todo = again;
        if (todo.length === 0) break;
        if (lastError !== undefined) {
          // Batches handed over from now on wait for this one before their first publish.
          if (!recovering) this.recovering++;
          recovering = true;
          this.stats.waitingForBrokerSince ??= new Date();
          this.onError(lastError);
          if (!this.stopping) {
            delays ??= retryDelays(this.retry);
            await this.sleeper.sleep(delays[Math.min(attempt, delays.length - 1)] ?? 1000);
          }
        }
        if (this.stopping) {
          for (const send of todo) outcomes[send.index] = { status: 'pending' };
          return outcomes;
        }
        const resentAs = this.sendCount;
        for (const send of todo) this.resentAt.set(events[send.index]!.streamId, resentAs);
        results = await this.send(todo);
      }
      this.stats.waitingForBrokerSince = undefined;
      return outcomes;
    } finally {
      if (recovering) this.recovering--;
    }
  }

  /** Publishes one event (a dead letter retried, or an event parked behind it); throws the broker's error unless confirmed. */
  async publishOne(event: RecordedEvent): Promise<void> {
    const topic = this.route(event);
    if (topic === undefined) return;
    const [result] = await this.send([{ topic, message: eventToMessage(event) }]);
    if (result!.status !== 'confirmed') throw result!.error;
  }

  /** Cuts a backoff short: the batch in hand returns its unconfirmed events as pending. */
  stop(): void {
    this.stopping = true;
    this.sleeper.wake();
  }

  /** Publishes per topic, all topics at once; one result per send, in order. */
  private async send(sends: Array<{ topic: string; message: BrokerMessage }>): Promise<PublishResult[]> {
    this.sendCount++;
    const byTopic = new Map<string, number[]>();
    sends.forEach((send, i) => {
      const list = byTopic.get(send.topic);
      if (list) list.push(i);
      else byTopic.set(send.topic, [i]);
    });
    const results: PublishResult[] = new Array(sends.length);
    const started = Date.now();
    const metrics = instruments();
    await Promise.all(
      [...byTopic].map(async ([topic, indexes]) => {
        const messages = indexes.map((i) => sends[i]!.message);
        const sent = performance.now();
        // A publish rejects only when the broker was closed: for the relay, one more way of being away.
        const answers = await tracedPublish(this.broker.system ?? 'unknown', topic, messages.map((m) => m.headers), () => this.broker.publish(topic, messages)).catch((error: unknown) =>
          messages.map((m): PublishResult => ({ messageId: m.id, status: 'unavailable', error: brokerUnavailableError('broker', error) })),
        );
        indexes.forEach((i, k) => (results[i] = answers[k]!));
        if (metrics) {
          metrics.relayConfirmDuration.record(secondsSince(sent), { relay: this.name });
          for (const answer of answers) metrics.relayPublished.add(1, { relay: this.name, outcome: answer.status });
        }
      }),
    );
    const confirmed = results.filter((r) => r.status === 'confirmed').length;
    if (confirmed > 0) {
      this.stats.published += confirmed;
      this.stats.lastConfirmAt = new Date();
      this.stats.confirmLatencyMs = this.stats.lastConfirmAt.getTime() - started;
    }
    return results;
  }
}
