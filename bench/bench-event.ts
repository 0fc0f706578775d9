import { randomUUID } from 'node:crypto';

/**
 * The one event shape every system writes: a UUID, a type, ~160 bytes of JSON data and
 * ~110 bytes of JSON metadata, which is what a typical domain event of a shop looks like.
 */
export interface BenchEvent {
  id: string;
  type: string;
  data: {
    orderId: string;
    line: number;
    sku: string;
    quantity: number;
    unitPrice: number;
    currency: string;
    note: string;
  };
  metadata: { correlationId: string; causationId: string };
}

export const BENCH_EVENT_TYPE = 'OrderLineAdded';

/** The event at `version` of `streamId`. */
export function benchEvent(streamId: string, version: number): BenchEvent {
  const id = randomUUID();
  return {
    id,
    type: BENCH_EVENT_TYPE,
    data: {
      orderId: streamId,
      line: version,
      sku: `SKU-${(version * 7919) % 100_000}`,
      quantity: 1 + (version % 5),
      unitPrice: 19.99,
      currency: 'EUR',
      note: 'added from the benchmark, as a customer would',
    },
    metadata: { correlationId: streamId, causationId: id },
  };
}

/** Events `from`..`from + count - 1` of a stream. */
export function benchEvents(streamId: string, from: number, count: number): BenchEvent[] {
  return Array.from({ length: count }, (_, i) => benchEvent(streamId, from + i));
}

let counter = 0;
/** A stream id never used before in this process: `order-<run>-<n>`. */
export function newStreamId(tag: string): string {
  return `order-${tag}-${++counter}`;
}
