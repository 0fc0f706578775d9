import { fnv1a32 } from '../core/fnv1a.js';

/**
 * The partition of a stream: FNV-1a of its id modulo the partition count. Every event of a
 * stream lands in the same partition, so partitions run in parallel without reordering a stream.
 *
 * @example
 * partitionOf('order-42', 8) // always the same number in 0..7
 */
export function partitionOf(streamId: string, count: number): number {
  return fnv1a32(streamId) % count;
}
