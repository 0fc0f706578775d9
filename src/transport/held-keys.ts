import { brokerUnavailableError, messageRefusedError } from './broker-errors.js';
import type { BrokerMessage, PublishResult } from './broker-message.js';
import { fitsIn } from './message-bytes.js';

/**
 * The keys a publisher holds: a key whose message the broker did not confirm (`unavailable`)
 * takes none of its later messages until that message is published again. Sent meanwhile, a
 * later message could be stored while the earlier one is lost (a connection dropped, a leader
 * died), and the copy published again would land behind it: out of order, and a consumer's inbox
 * keeps the first copy. Keyed by topic and key, so one topic's hold never stops another's.
 *
 * @example
 * const holder = held.admit(topic, message)
 * if (holder !== undefined) return unavailable(`message ${holder} must be published again first`)
 */
export class HeldKeys {
  /** Per topic and key, the id of the message that holds it. */
  private readonly held = new Map<string, string>();

  /**
   * Whether the message may be sent: undefined when it may (its key is free, or this message
   * holds it, which frees the key: it is being published again), else the id of the message
   * that holds its key.
   */
  admit(topic: string, message: BrokerMessage): string | undefined {
    const key = keyOf(topic, message);
    const holder = this.held.get(key);
    if (holder === undefined) return undefined;
    if (holder !== message.id) return holder;
    this.held.delete(key);
    return undefined;
  }

  /**
   * Holds the message's key by it, unless an earlier message holds the key already (answers
   * arrive in send order, so the hold in place is of an earlier message: the one to publish first).
   */
  hold(topic: string, message: BrokerMessage): void {
    const key = keyOf(topic, message);
    if (!this.held.has(key)) this.held.set(key, message.id);
  }

  /**
   * Holds the message's key by it, in place of any hold: for a publisher whose answers may come
   * out of send order, which knows that the hold in place is of a later message of the key.
   */
  holdInstead(topic: string, message: BrokerMessage): void {
    this.held.set(keyOf(topic, message), message.id);
  }

  /**
   * The answer for a message that must not be sent now, or undefined when it may go: refused when
   * it is larger than `maxBytes`; unavailable while an earlier message holds its key (`admit`).
   */
  refusal(system: string, topic: string, message: BrokerMessage, maxBytes: number): PublishResult | undefined {
    if (!fitsIn(message, maxBytes)) return { messageId: message.id, status: 'refused', error: messageRefusedError(system, message.id, 'too_large', `larger than maxMessageBytes (${maxBytes})`) };
    const holder = this.admit(topic, message);
    if (holder === undefined) return undefined;
    const reason = new Error(`message ${holder} of key ${message.key} is not confirmed yet: it must be published again before the key's later messages`);
    return { messageId: message.id, status: 'unavailable', error: brokerUnavailableError(system, reason) };
  }

  get size(): number {
    return this.held.size;
  }
}

const keyOf = (topic: string, message: BrokerMessage): string => `${topic}\u0000${message.key}`;
