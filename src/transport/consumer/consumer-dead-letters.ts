import { FactumError } from '../../core/errors.js';
import type { RecordedEvent } from '../../core/message.js';
import type { RetryPolicy } from '../../core/retry-policy.js';
import type { ConsumerStorage, ConsumerTx, DeadLetter } from '../../consumers/consumer-storage.js';
import { DeadLetterDrain, type DrainResult } from '../../consumers/dead-letter-drain.js';
import { CONSUMER_DEAD_LETTERS } from '../../consumers/dead-letter-requests.js';
import { failureOf } from '../../consumers/failure-of.js';
import { Mutex } from '../../consumers/mutex.js';
import type { BrokerDeadLetter } from '../broker.js';
import { eventToMessage } from '../message-envelope.js';

/**
 * A dead letter of an `EventConsumer` with a store: a message that failed for good (`'dead'`),
 * one whose drain failed and is being retried (`'retrying'`), or one parked behind either in its
 * key's order (`'parked'`). Without a store, and for a message that is no factum event, the
 * broker's dead letters are listed with status `'dead'`.
 *
 * @example
 * for (const letter of await consumer.deadLetters()) console.log(letter.key, letter.status, letter.message.id, letter.error)
 */
export interface EventConsumerDeadLetter extends BrokerDeadLetter {
  status: 'dead' | 'retrying' | 'parked';
  /** The message's key (the stream id): the key stays blocked while it has a letter. */
  key: string;
}

/** What the dead letters need from their consumer. */
export interface ConsumerDeadLettersHost {
  isStopping(): boolean;
  /** Handles the letter's event (unless `handle` is false) in its inbox transaction, with the removal of its row and the key's lock. */
  deliver(letter: DeadLetter, attempt: number, handle: boolean): Promise<void>;
  /** A failed attempt of a drain, recorded. */
  failed(letter: DeadLetter, error: unknown): void;
  reportError(error: unknown, event: RecordedEvent): void;
}

/**
 * The sequenced dead letters of an `EventConsumer` with a store, in the store's dead-letter table
 * under `consumer:<name>` with the key as stream id: a message that failed for good blocks its
 * key, the key's later messages are parked behind it in order (acked from the broker, in the
 * transaction that checked the key), and `retry` / `skip` drain them through `DeadLetterDrain`.
 * Every check and every drained message takes the key's lock in its transaction, so a consumer
 * and a drain in two processes never interleave: a message is parked behind the drained ones, or
 * handled after them.
 *
 * @example
 * const letters = new ConsumerDeadLetters(storage, 'billing', retry, host)
 * const held = await letters.check(tx, [message.key]) // in the message's transaction
 */
export class ConsumerDeadLetters {
  /** The dead-letter table's `subscription` column for this consumer. */
  readonly subscription: string;
  private readonly drain: DeadLetterDrain;

  constructor(
    private readonly storage: ConsumerStorage,
    consumer: string,
    retry: RetryPolicy | undefined,
    host: ConsumerDeadLettersHost,
  ) {
    this.subscription = `${CONSUMER_DEAD_LETTERS}${consumer}`;
    this.drain = new DeadLetterDrain(storage, this.subscription, retry, new Mutex(), {
      isStopping: () => host.isStopping(),
      deliver: (letter, attempt, handle) => host.deliver(letter, attempt, handle),
      positionOf: (event) => event.globalPosition,
      failed: (letter, error) => host.failed(letter, error),
      reportError: (error, event) => host.reportError(error, event),
      changed: () => {},
    });
  }

  /** Keys blocked as this process last saw them (its own dead letters, its checks, its drains). */
  blockedKeys(): string[] {
    return [...this.drain.blocked].sort();
  }

  /** Reads the blocked keys from the store, and resumes a drain a crash cut short. */
  load(): Promise<void> {
    return this.drain.load(() => true);
  }

  /** Disarms the retries of drained letters that failed again. */
  stop(): void {
    this.drain.stop();
  }

  /**
   * In `tx`: the keys that are blocked (one query for them all), their locks held. A key found
   * free needs no lock: only a drain changes a blocked key's rows, and a drain only removes them,
   * so a key seen free stays free (its own dead letters come from this lane). A key found blocked
   * is locked and read again: a drain in another process may be removing its last rows, and a
   * message parked behind rows it no longer reads again would be parked for good.
   */
  async check(tx: ConsumerTx, keys: string[]): Promise<Set<string>> {
    let held = await tx.heldKeys(this.subscription, keys);
    if (held.size > 0) {
      await tx.lockKeys(this.subscription, [...held]);
      held = await tx.heldKeys(this.subscription, [...held]);
    }
    for (const key of new Set(keys)) {
      if (held.has(key)) this.drain.blocked.add(key);
      else this.drain.blocked.delete(key);
    }
    return held;
  }

  /**
   * `check` and the inbox rows of a batch's messages in one statement (see
   * `ConsumerTx.admitMessages`): the blocked keys (locked, and read again as `check` does) and
   * the messages of the others recorded in the inbox.
   */
  async admit(tx: ConsumerTx, consumer: string, messages: Array<{ id: string; key: string }>): Promise<{ held: Set<string>; recorded: Set<string> }> {
    const first = await tx.admitMessages(this.subscription, consumer, messages);
    let { held } = first;
    const { recorded } = first;
    if (held.size > 0) {
      const seen = held;
      await tx.lockKeys(this.subscription, [...seen]);
      held = await tx.heldKeys(this.subscription, [...seen]);
      // Drained meanwhile: those messages are handled after the drained ones, now.
      const freed = messages.filter((m) => seen.has(m.key) && !held.has(m.key)).map((m) => m.id);
      if (freed.length > 0) for (const id of await tx.recordInboxes(consumer, freed)) recorded.add(id);
    }
    for (const { key } of messages) {
      if (held.has(key)) this.drain.blocked.add(key);
      else this.drain.blocked.delete(key);
    }
    return { held, recorded };
  }

  /** In `tx`, after `check` found its key blocked: parks the event behind the key's letters. */
  park(tx: ConsumerTx, event: RecordedEvent): Promise<void> {
    return tx.addDeadLetter(this.subscription, 'parked', event);
  }

  /**
   * Records a message that failed for good, in its own transaction with the key's lock: `'dead'`
   * with the error (the key is blocked from now on), or `'parked'` when the key was blocked
   * already (by another process's dead letter, or one recorded since).
   */
  async setAside(event: RecordedEvent, error: unknown, attempts: number): Promise<'dead' | 'parked'> {
    const now = new Date();
    const outcome = await this.storage.transaction(async (tx) => {
      if ((await this.check(tx, [event.streamId])).has(event.streamId)) {
        await this.park(tx, event);
        return 'parked' as const;
      }
      await tx.addDeadLetter(this.subscription, 'dead', event, failureOf(error, attempts, now, now));
      return 'dead' as const;
    });
    this.drain.blocked.add(event.streamId);
    return outcome;
  }

  /** Every letter, in key order, as broker dead letters with their status. */
  async list(): Promise<EventConsumerDeadLetter[]> {
    const letters = await this.storage.listDeadLetters(this.subscription);
    const heads = new Map<string, DeadLetter>();
    for (const letter of letters) if (!heads.has(letter.streamId)) heads.set(letter.streamId, letter);
    return letters.map((letter) => {
      const head = heads.get(letter.streamId)!;
      return {
        message: eventToMessage(letter.event),
        error: letter.status === 'parked' ? `parked behind message ${head.event.id}` : (letter.error ?? ''),
        ...(letter.errorCode ? { errorCode: letter.errorCode } : {}),
        attempts: letter.attempts,
        deadLetteredAt: letter.lastFailedAt ?? head.lastFailedAt ?? new Date(0),
        status: letter.status,
        key: letter.streamId,
      };
    });
  }

  /** True when the store holds a letter for `messageId` (the event id the message carries). */
  async has(messageId: string): Promise<boolean> {
    return (await this.storage.listDeadLetters(this.subscription)).some((l) => l.event.id === messageId);
  }

  /** `retry` by the dead letter's row id (an operator's request names the row: see `DeadLetterRequests`). */
  retryRow(id: string): Promise<DrainResult> {
    return this.drain.retryDeadLetter(id, false);
  }

  /** The key's dead letter was skipped in the database: drains what is parked behind it (see `DeadLetterDrain.resume`). */
  resume(key: string): Promise<DrainResult> {
    return this.drain.resume(key);
  }

  /** The key's rows, in order. */
  letters(key: string): Promise<DeadLetter[]> {
    return this.storage.listDeadLetters(this.subscription, { streamId: key });
  }

  /**
   * Handles (or, `skip`, drops) the dead letter of `messageId`, then the messages parked behind
   * it, in order, each in its own inbox transaction with the removal of its row.
   */
  async retry(messageId: string, skip: boolean): Promise<DrainResult> {
    const letter = (await this.storage.listDeadLetters(this.subscription, { status: 'dead' })).find((l) => l.event.id === messageId);
    if (!letter) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter ${messageId} for consumer "${this.subscription.slice(CONSUMER_DEAD_LETTERS.length)}"`, { details: { messageId } });
    return this.drain.retryDeadLetter(letter.id, skip);
  }
}
