/**
 * The partition of a stream: FNV-1a of its id modulo the partition count. Every event of a
 * stream lands in the same partition, so partitions run in parallel without reordering a stream.
 *
 * @example
 * partitionOf('order-42', 8) // always the same number in 0..7
 */
export function partitionOf(streamId: string, count: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(streamId, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0) % count;
}
