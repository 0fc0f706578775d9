import type { Delivery } from '../broker.js';
import { MESSAGE_HEADERS } from '../message-envelope.js';

/**
 * The messages an `EventConsumer`'s handlers hold now, with when their events were recorded: a
 * broker that cannot count unacked messages (RabbitMQ) or tell their age leaves that part of the
 * lag to the consumer, which knows what it holds.
 */
export class HeldMessages {
  /** The held deliveries; their `recordedAt` is read only when the lag is asked for, not on every delivery. */
  private readonly held = new Set<Delivery>();

  /** Holds `deliveries` while `work` runs. */
  async during<T>(deliveries: Delivery[], work: () => Promise<T>): Promise<T> {
    for (const delivery of deliveries) this.held.add(delivery);
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
    for (const delivery of this.held) {
      // NaN for a message without one, which is passed over.
      const recordedAt = Date.parse(delivery.message.headers[MESSAGE_HEADERS.recordedAt] ?? '');
      if (recordedAt < oldest) oldest = recordedAt;
    }
    return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
  }
}
