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
 */
export class NatsPublisher {
  private queue: Promise<unknown> = Promise.resolve();

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
    const one = async (i: number): Promise<void> => {
      const message = messages[i]!;
      if (!fitsIn(message, this.settings.maxMessageBytes)) {
        results[i] = { messageId: message.id, status: 'refused', error: messageRefusedError('NATS', message.id, 'too_large', `larger than maxMessageBytes (${this.settings.maxMessageBytes})`) };
        return;
      }
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
        results[i] = { messageId: message.id, status: 'unavailable', error: brokerUnavailableError('NATS', error) };
      }
    };
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < messages.length; i++) {
      const p = one(i).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= this.settings.window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return results;
  }
}
