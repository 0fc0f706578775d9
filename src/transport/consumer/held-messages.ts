import type { Delivery } from '../broker.js';
import { MESSAGE_HEADERS } from '../message-envelope.js';

/**
 * The messages an `EventConsumer`'s handlers hold now, with when their events were recorded: a
 * broker that cannot count unacked messages (RabbitMQ) or tell their age leaves that part of the
 * lag to the consumer, which knows what it holds.
 */
export class HeldMessages {
  /** Each held delivery with its event's `recordedAt` in ms (NaN for a message without one). */
  private readonly held = new Map<Delivery, number>();

  /** Holds `deliveries` while `work` runs. */
  async during<T>(deliveries: Delivery[], work: () => Promise<T>): Promise<T> {
    for (const delivery of deliveries) this.held.set(delivery, Date.parse(delivery.message.headers[MESSAGE_HEADERS.recordedAt] ?? ''));
    try {
      return await work();
    } finally {
      for (const delivery of deliveries) this.held.delete(delivery);
    }
  }

  get count(): number {
    return this.held.size;
  }

  /** Seconds since the oldest held message's event was recorded; 0 when none is held. */
  oldestSeconds(now = Date.now()): number {
    let oldest = Infinity;
    for (const recordedAt of this.held.values()) if (recordedAt < oldest) oldest = recordedAt;
    return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
  }
}
