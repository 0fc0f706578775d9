import type { Delivery } from '../broker.js';
import type { BrokerMessage } from '../broker-message.js';
import type { Logger } from '../../core/logger.js';
import { instruments } from '../../core/telemetry/instruments.js';
import { deadLetterReason } from '../dead-letter-reason.js';

/** The latest failure of an `EventConsumer`, and what became of its message. */
export interface EventConsumerFailure {
  messageId: string;
  key: string;
  attempt: number;
  error: string;
  errorCode?: string;
  /** `'retry'`: delivered again after `delayMs`; `'dead-letter'`: parked with the error. */
  outcome: 'retry' | 'dead-letter';
  delayMs?: number;
  at: Date;
}

/** What became of the messages since `start()`: the counts of `EventConsumerStatus`. */
export interface ConsumerCounts {
  /** Handlers running now. */
  inFlight: number;
  /** Messages whose handler ran and committed (and were then acked). */
  handled: number;
  /** Messages the inbox had seen: acked without running the handler. */
  duplicates: number;
  /** Failed attempts sent back for a retry (on its last allowed attempt the broker dead-letters it instead). */
  retried: number;
  /** Messages this consumer dead-lettered (failed every retry, or unreadable). */
  deadLettered: number;
  /** Messages parked in the store behind a dead letter of their key (with a store only). */
  parked: number;
}

/**
 * Keeps an `EventConsumer`'s counts and latest failure, and settles a failed message through the
 * broker (a retry after a delay, or the broker's dead letters): one place for both ways of
 * consuming, with a store and without.
 */
export class ConsumerOutcomes {
  readonly counts: ConsumerCounts = { inFlight: 0, handled: 0, duplicates: 0, retried: 0, deadLettered: 0, parked: 0 };
  lastFailure?: EventConsumerFailure;

  constructor(
    private readonly name: string,
    private readonly onError: ((error: unknown, message: BrokerMessage) => void) | undefined,
    private readonly logger: Logger | undefined,
  ) {}

  /** Tells the consumer's `onError` and logger, if it has them. */
  report(error: unknown, message: BrokerMessage): void {
    this.onError?.(error, message);
    this.logger?.error({ runner: this.name, err: error, messageId: message.id, key: message.key }, `${this.name}: message ${message.id} failed`);
  }

  /** A retry after `delayMs`, or (none left, or unreadable) a dead letter with the error, in the broker. */
  async failed(delivery: Delivery, error: unknown, delayMs: number | undefined): Promise<void> {
    const { message } = delivery;
    this.noteFailure(message, delivery.attempt, error, delayMs === undefined ? 'dead-letter' : 'retry', delayMs);
    this.report(error, message);
    if (delayMs === undefined) {
      await delivery.deadLetter(error);
      this.counts.deadLettered++;
    } else {
      await delivery.retry(delayMs, error);
      this.counts.retried++;
    }
  }

  noteFailure(message: BrokerMessage, attempt: number, error: unknown, outcome: EventConsumerFailure['outcome'], delayMs: number | undefined): void {
    this.lastFailure = {
      messageId: message.id,
      key: message.key,
      attempt,
      ...deadLetterReason(error),
      outcome,
      ...(delayMs === undefined ? {} : { delayMs }),
      at: new Date(),
    };
    if (outcome !== 'dead-letter') return;
    instruments()?.deadLetters.add(1, { runner: this.name, kind: 'consumer' });
    this.logger?.warn({ runner: this.name, messageId: message.id, key: message.key, attempt, err: error }, `${this.name}: message ${message.id} is a dead letter`);
  }
}
