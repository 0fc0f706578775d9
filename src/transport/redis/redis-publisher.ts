import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { partitionOf } from '../../consumers/partition-of.js';
import { brokerUnavailableError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { HeldKeys } from '../held-keys.js';
import { entryValues } from './redis-message.js';
import { runPublishScript, type ScriptAnswer, type ScriptMessage } from './redis-publish-script.js';
import { redisNames, trimArguments, type RedisTrimming } from './redis-topology.js';

export interface RedisPublisherSettings {
  partitions: number;
  maxMessageBytes: number;
  trimming: RedisTrimming;
}

/** A topic's calls in flight: the chain the script checks, and the calls waiting for it to drain. */
interface Lane {
  /** The number of the last call sent (unanswered while `inFlight` > 0: answers come in send order). */
  last: number;
  inFlight: number;
  /** A call failed while others were in flight: new calls wait until every one of them is answered. */
  broken: boolean;
  /** Calls waiting for the drain, or behind one that does. */
  waiting: number;
  /** Resolves once the calls waiting before the next one are sent. */
  tail: Promise<void>;
  drained: Array<() => void>;
}

/** How long a chain key outlives its last call: far longer than a call is in flight. */
const CHAIN_TTL_MS = 10 * 60 * 1000;
/**
 * Messages per script at most: a larger call goes as several scripts, chained like calls. A
 * script holds Redis for its whole run (about 4 ms per 1,000 messages here), other clients wait.
 */
const MAX_SCRIPT_MESSAGES = 1000;

/**
 * Publishes each call as one script (see `redis-publish-script.ts`; several for more than
 * `MAX_SCRIPT_MESSAGES`): the topic's group check and an XADD per message, to the stream of its
 * key's partition, in one round trip; each message answered by its own XADD. A call is sent at
 * once, while earlier calls await their answers, on the one connection, which Redis runs in
 * order: one key's messages keep the order of the calls.
 *
 * What keeps that order when a call fails:
 * - Calls sent behind it before its answer came back: the chain. Each call names the call before
 *   it on its topic, when that one is still unanswered, and the script runs it only if that one
 *   ran whole; the failed call's followers write nothing and come back `unavailable`.
 * - Calls made after its answer came back: they wait until the topic's calls in flight are all
 *   answered (so every failure is known), then go with a fresh chain; and a key whose message
 *   came back `unavailable` is held (`HeldKeys`): its later messages are answered `unavailable`
 *   unsent until that message is published again.
 * A lost connection fails every unanswered call before the client reconnects (no offline queue,
 * no resending; see `RedisBroker.open`), so no call of the old connection runs after one of the new.
 */
export class RedisPublisher {
  private readonly held = new HeldKeys();
  private readonly lanes = new Map<string, Lane>();
  /** Names this publisher's chains. */
  private readonly id = randomUUID();
  private calls = 0;

  constructor(
    private readonly redis: Redis,
    private readonly settings: RedisPublisherSettings,
  ) {}

  publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const lane = this.lane(topic);
    if (!lane.broken && lane.waiting === 0) return this.send(topic, lane, messages);
    lane.waiting++;
    // Boxed: the tail must resolve once the call is sent, not once it is answered.
    const sent = lane.tail.then(async () => {
      while (lane.broken) await new Promise<void>((resolve) => lane.drained.push(resolve));
      lane.waiting--;
      return { answered: this.send(topic, lane, messages) };
    });
    lane.tail = sent.then(() => {});
    return sent.then((s) => s.answered);
  }

  private lane(topic: string): Lane {
    let lane = this.lanes.get(topic);
    if (!lane) {
      lane = { last: 0, inFlight: 0, broken: false, waiting: 0, tail: Promise.resolve(), drained: [] };
      this.lanes.set(topic, lane);
    }
    return lane;
  }

  /** Sends a call now (the script goes out before this returns) and resolves with its answers. */
  private send(topic: string, lane: Lane, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const results: PublishResult[] = new Array(messages.length);
    const sent: number[] = [];
    const scriptMessages: ScriptMessage[] = [];
    messages.forEach((message, i) => {
      const refusal = this.held.refusal('Redis', topic, message, this.settings.maxMessageBytes);
      if (refusal !== undefined) return void (results[i] = refusal);
      sent.push(i);
      scriptMessages.push({ stream: redisNames.stream(topic, partitionOf(message.key, this.settings.partitions)), values: entryValues(message) });
    });
    const answers: Array<Promise<void>> = [];
    for (let from = 0; from < sent.length; from += MAX_SCRIPT_MESSAGES) {
      const chunk = sent.slice(from, from + MAX_SCRIPT_MESSAGES);
      const call = ++this.calls;
      const after = lane.inFlight > 0 ? lane.last : undefined;
      lane.last = call;
      lane.inFlight++;
      const answer = runPublishScript(this.redis, {
        groups: redisNames.groups(topic),
        chain: redisNames.publisherChain(topic, this.id),
        after,
        call,
        chainTtlMs: CHAIN_TTL_MS,
        trim: trimArguments(this.settings.trimming),
        messages: scriptMessages.slice(from, from + MAX_SCRIPT_MESSAGES),
      });
      // Settled in the answer's own callback: a failure must be known (keys held, lane broken)
      // before anything else runs, a reconnection included.
      answers.push(
        answer.then(
          (reply) => this.answered(topic, lane, messages, chunk, results, reply),
          (error: unknown) => this.answered(topic, lane, messages, chunk, results, { kind: 'failed', error }),
        ),
      );
    }
    return Promise.all(answers).then(() => results);
  }

  private answered(topic: string, lane: Lane, messages: BrokerMessage[], sent: number[], results: PublishResult[], reply: ScriptAnswer | { kind: 'failed'; error: unknown }): void {
    const unavailable = (i: number, error: unknown): void => {
      results[i] = { messageId: messages[i]!.id, status: 'unavailable', error: brokerUnavailableError('Redis', error) };
      this.held.hold(topic, messages[i]!);
      lane.broken = true;
    };
    if (reply.kind === 'unroutable') {
      for (const i of sent) results[i] = { messageId: messages[i]!.id, status: 'refused', error: messageRefusedError('Redis', messages[i]!.id, 'unroutable', `topic ${topic} has no group`) };
    } else if (reply.kind === 'added') {
      sent.forEach((i, n) => {
        const failure = reply.failures.get(n);
        if (failure === undefined) results[i] = { messageId: messages[i]!.id, status: 'confirmed' };
        else unavailable(i, new Error(failure));
      });
    } else {
      const error = reply.kind === 'failed' ? reply.error : new Error('an earlier publish call on this topic, sent before this one, did not go through whole');
      for (const i of sent) unavailable(i, error);
    }
    if (--lane.inFlight === 0) {
      lane.broken = false;
      for (const resolve of lane.drained.splice(0)) resolve();
      if (lane.waiting === 0) this.lanes.delete(topic);
    }
  }
}
