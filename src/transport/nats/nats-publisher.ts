import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { partitionOf } from '../../consumers/partition-of.js';
import { brokerUnavailableError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { fitsIn } from '../message-bytes.js';
import { isNoResponders } from './nats-errors.js';
import { toNatsHeaders } from './nats-message.js';
import { natsNames, streamExists } from './nats-topology.js';

export interface NatsPublisherSettings {
  partitions: number;
  maxMessageBytes: number;
  /** PubAcks awaited at once within a call. */
  window: number;
  /** How long a publish waits for its PubAck before it is `unavailable`. */
  timeoutMs: number;
}

/**
 * Publishes batches through JetStream, awaiting the PubAck of every message with `Nats-Msg-Id` =
 * the message id (so a message sent again within the stream's duplicate window is stored once).
 * Calls run one after the other in call order; within a call up to `window` messages await their
 * PubAck at once, sent in order on the one connection, so one key's messages keep their order.
 *
 * A message without a PubAck may be lost (its stream's leader died before the message was
 * replicated) while a later one of its key, sent after a new leader was elected, is stored: the
 * stream would hold them out of order, and since JetStream keeps the first copy of an id, sending
 * both again does not repair it. So a key whose message came back `unavailable` is held: its
 * later messages are answered `unavailable` unsent until that message is published again (the
 * relay does so, then the rest of its stream). Within a call, a key's message goes out while its
 * key's earlier ones await their PubAck only in the same burst of writes (a dying leader stores a
 * prefix of what it got); sent later, it waits for their answers. And once a message came back
 * `unavailable`, until a call is confirmed whole, each key's messages go one at a time: while a
 * stream elects its leader, the messages of one burst that arrive before the election are refused
 * and those after it stored.
 */
export class NatsPublisher {
  private queue: Promise<unknown> = Promise.resolve();
  /** Per topic and key, the first message of the key the broker did not confirm; the key's later messages wait for it. */
  private readonly held = new Map<string, string>();
  /** Set by an `unavailable` answer, cleared by a call confirmed whole: one message of a key in flight at a time. */
  private careful = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly makeHeaders: () => MsgHdrs,
    private readonly settings: NatsPublisherSettings,
  ) {}

  publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    return this.inOrder(() => this.send(topic, messages));
  }

  /** Publishes one message as it is (a dead letter, a retried letter); rejects with `BROKER_UNAVAILABLE`. */
  sendRaw(subject: string, message: BrokerMessage, msgID: string, extra: Record<string, string> = {}): Promise<void> {
    return this.inOrder(async () => {
      try {
        await this.js.publish(subject, message.body, { msgID, headers: toNatsHeaders(message, this.makeHeaders, extra), timeout: this.settings.timeoutMs });
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

  private async send(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const results: PublishResult[] = new Array(messages.length);
    let unroutable: Promise<boolean> | undefined;
    const keyOf = (message: BrokerMessage): string => `${topic}\u0000${message.key}`;
    /** Per key, the index in this call of the message that holds it (the earliest unconfirmed). */
    const heldAt = new Map<string, number>();
    const hold = (i: number): void => {
      const key = keyOf(messages[i]!);
      if ((heldAt.get(key) ?? Infinity) <= i) return;
      heldAt.set(key, i);
      this.held.set(key, messages[i]!.id);
    };
    const one = async (i: number): Promise<void> => {
      const message = messages[i]!;
      if (!fitsIn(message, this.settings.maxMessageBytes)) {
        results[i] = { messageId: message.id, status: 'refused', error: messageRefusedError('NATS', message.id, 'too_large', `larger than maxMessageBytes (${this.settings.maxMessageBytes})`) };
        return;
      }
      const key = keyOf(message);
      const heldBy = this.held.get(key);
      if (heldBy !== undefined && heldBy !== message.id) {
        const reason = new Error(`message ${heldBy} of key ${message.key} is not confirmed yet: it must be published again before the key's later messages`);
        results[i] = { messageId: message.id, status: 'unavailable', error: brokerUnavailableError('NATS', reason) };
        return;
      }
      if (heldBy !== undefined) this.held.delete(key);
      try {
        const subject = natsNames.subject(topic, partitionOf(message.key, this.settings.partitions));
        await this.js.publish(subject, message.body, { msgID: message.id, headers: toNatsHeaders(message, this.makeHeaders), timeout: this.settings.timeoutMs });
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
    const inFlight = new Set<Promise<void>>();
    /** Per key, its latest send of this call and the burst it went out in (-1: after an earlier answer). */
    const lastOfKey = new Map<string, { answered: Promise<void>; burst: number }>();
    let burst = 0;
    for (let i = 0; i < messages.length; i++) {
      const key = keyOf(messages[i]!);
      const last = lastOfKey.get(key);
      // Sent in a later burst (or while a leader may be moving), it waits for the answer of its key's previous message, and its hold.
      const after = last && (this.careful || last.burst !== burst) ? last.answered : undefined;
      const p: Promise<void> = (after ? after.then(() => one(i)) : one(i)).finally(() => inFlight.delete(p));
      inFlight.add(p);
      lastOfKey.set(key, { answered: p, burst: after ? -1 : burst });
      if (inFlight.size >= this.settings.window) {
        await Promise.race(inFlight);
        burst++;
      }
    }
    await Promise.all(inFlight);
    if (this.held.size === 0 && results.every((r) => r.status !== 'unavailable')) this.careful = false;
    return results;
  }
}
