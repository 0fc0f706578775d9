import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { FactumError } from '../../core/errors.js';
import { partitionOf } from '../../consumers/partition-of.js';
import { brokerUnavailableError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { HeldKeys } from '../held-keys.js';
import { isNoResponders } from './nats-errors.js';
import { toNatsHeaders, type HeadersFromRecord } from './nats-message.js';
import { natsNames, streamExists } from './nats-topology.js';

export interface NatsPublisherSettings {
  partitions: number;
  maxMessageBytes: number;
  /** PubAcks awaited at once, over every call. */
  window: number;
  /** How long a publish waits for its PubAck before it is `unavailable`. */
  timeoutMs: number;
}

/**
 * Publishes batches through JetStream, awaiting the PubAck of every message with `Nats-Msg-Id` =
 * the message id (so a message sent again within the stream's duplicate window is stored once).
 * Calls send one after the other in call order, and a call sends while earlier ones still await
 * their PubAcks: up to `window` messages await theirs at once, sent in order on the one
 * connection, so one key's messages keep their order.
 *
 * A message without a PubAck may be lost (its stream's leader died before the message was
 * replicated) while a later one of its key, sent after a new leader was elected, is stored: the
 * stream would hold them out of order, and since JetStream keeps the first copy of an id, sending
 * both again does not repair it. So a key whose message came back `unavailable` is held: its
 * later messages are answered `unavailable` unsent until that message is published again (the
 * relay does so, then the rest of its stream). A key's message goes out while its key's earlier
 * ones await their PubAck only in the same burst of writes (a dying leader stores a prefix of
 * what it got); sent later (in a later call, say), it waits for their answers. And once a message
 * came back `unavailable`, until a call is confirmed whole, each key's messages go one at a time:
 * while a stream elects its leader, the messages of one burst that arrive before the election are
 * refused and those after it stored.
 */
export class NatsPublisher {
  private queue: Promise<unknown> = Promise.resolve();
  /** Per topic and key, the first message of the key the broker did not confirm; the key's later messages wait for it. */
  private readonly held = new HeldKeys();
  /** Set by an `unavailable` answer, cleared by a call confirmed whole: one message of a key in flight at a time. */
  private careful = false;
  /** Messages sent or waiting for their turn, over every call: at most `window`. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Counts bursts of writes: a call starts one, and so does a wait for a free place in the window. */
  private burst = 0;
  /** Per topic and key, its latest message not yet answered: the burst it went out in and what it waited for. */
  private readonly lastOfKey = new Map<string, { answered: Promise<void>; burst: number; after?: Promise<void> }>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly fromRecord: HeadersFromRecord,
    private readonly settings: NatsPublisherSettings,
  ) {}

  publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    // Sending runs in call order; the answers are awaited outside that queue, so the next call's
    // messages go out while this call's PubAcks are on their way (the relay overlaps its batches).
    return this.inOrder(() => this.send(topic, messages)).then((sent) => sent.answered);
  }

  /** Publishes one message as it is (a dead letter, a retried letter); rejects with `BROKER_UNAVAILABLE` (or `MESSAGE_REFUSED` for a header NATS cannot carry). */
  sendRaw(subject: string, message: BrokerMessage, msgID: string, extra: Record<string, string> = {}): Promise<void> {
    return this.inOrder(async () => {
      const headers = toNatsHeaders(message, this.fromRecord, extra);
      try {
        await this.js.publish(subject, message.body, { msgID, headers, timeout: this.settings.timeoutMs });
      } catch (error) {
        throw brokerUnavailableError('NATS', error);
      }
    });
  }

  private inOrder<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Sends a call's messages (every one, or waiting for its turn); resolves once they are all on their way. */
  private async send(topic: string, messages: BrokerMessage[]): Promise<{ answered: Promise<PublishResult[]> }> {
    const results: PublishResult[] = new Array(messages.length);
    let unroutable: Promise<boolean> | undefined;
    const keyOf = (message: BrokerMessage): string => `${topic}\u0000${message.key}`;
    /** Per key, the index in this call of the message that holds it (the earliest unconfirmed). */
    const heldAt = new Map<string, number>();
    const hold = (i: number): void => {
      const key = keyOf(messages[i]!);
      if ((heldAt.get(key) ?? Infinity) <= i) return;
      heldAt.set(key, i);
      // In place of any hold, as before HeldKeys: a later message of this call may have come back first.
      this.held.holdInstead(topic, messages[i]!);
    };
    const one = async (i: number): Promise<void> => {
      const message = messages[i]!;
      const refusal = this.held.refusal('NATS', topic, message, this.settings.maxMessageBytes);
      if (refusal !== undefined) return void (results[i] = refusal);
      let headers: MsgHdrs;
      try {
        headers = toNatsHeaders(message, this.fromRecord);
      } catch (error) {
        return void (results[i] = { messageId: message.id, status: 'refused', error: error as FactumError });
      }
      try {
        const subject = natsNames.subject(topic, partitionOf(message.key, this.settings.partitions));
        await this.js.publish(subject, message.body, { msgID: message.id, headers, timeout: this.settings.timeoutMs });
        results[i] = { messageId: message.id, status: 'confirmed' };
      } catch (error) {
        // No responders: no stream captures the subject, or JetStream is not up yet; the stream tells which.
        if (isNoResponders(error)) {
          unroutable ??= streamExists(this.jsm, natsNames.stream(topic)).then((exists) => !exists, () => false);
          if (await unroutable) {
            results[i] = { messageId: message.id, status: 'refused', error: messageRefusedError('NATS', message.id, 'unroutable', `no stream captures topic ${topic}: no group consumes it`, error) };
            return;
          }
        }
        hold(i);
        this.careful = true;
        results[i] = { messageId: message.id, status: 'unavailable', error: brokerUnavailableError('NATS', error) };
      }
    };
    const sends: Array<Promise<void>> = [];
    // A call's first message starts a burst of its own: the previous call's went out a while ago.
    this.burst++;
    for (let i = 0; i < messages.length; i++) {
      const key = keyOf(messages[i]!);
      const last = this.lastOfKey.get(key);
      // In the burst of its key's previous message it goes out with it (after what that one waits for,
      // if anything); sent in a later burst, or while a leader may be moving, it waits for that one's answer.
      const after = last && (this.careful || last.burst !== this.burst ? last.answered : last.after);
      const p: Promise<void> = (after ? after.then(() => one(i)) : one(i)).finally(() => {
        this.inFlight.delete(p);
        if (this.lastOfKey.get(key)?.answered === p) this.lastOfKey.delete(key);
      });
      this.inFlight.add(p);
      sends.push(p);
      this.lastOfKey.set(key, { answered: p, burst: this.burst, ...(after ? { after } : {}) });
      if (this.inFlight.size >= this.settings.window) {
        await Promise.race(this.inFlight);
        this.burst++;
      }
    }
    const answered = Promise.all(sends).then(() => {
      if (this.held.size === 0 && results.every((r) => r.status !== 'unavailable')) this.careful = false;
      return results;
    });
    return { answered };
  }
}
