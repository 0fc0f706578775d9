// What the conformance features share: event builders and small readers.
import type { NewEvent, RecordedEvent } from '../../src/core/message.js';

export const ev = (type: string, data: unknown = { n: 1 }, extra: Partial<NewEvent> = {}): NewEvent => ({ type, data, ...extra });
export const many = (n: number, type = 'Counted'): NewEvent[] => Array.from({ length: n }, (_, i) => ev(type, { i }));

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const versions = (events: RecordedEvent[]) => events.map((e) => e.streamVersion);
