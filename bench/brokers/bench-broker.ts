/**
 * One broker as the relay and latency benchmarks see it: factum's adapter, opened with the
 * settings both sides share, and the raw client beside it publishing the same messages with the
 * same durability. Each broker is a file of this folder with the same names
 * (`<broker>-bench-broker.ts` exporting `<broker>BenchBroker`); the harnesses (bench/relay.ts,
 * bench/end-to-end-latency.ts) loop over `BENCH_BROKERS` and know no broker by name.
 */
import type { Broker } from '../../src/transport/broker.js';
import type { BrokerMessage } from '../../src/transport/broker-message.js';

/** Partitions (ordered lanes) of every benchmark topic, on every broker. */
export const BENCH_PARTITIONS = 4;

/** One way the raw client publishes the prepared messages: a name (its window, pipeline depth...) and a timed run. */
export interface RawPublisher {
  name: string;
  /** Publishes every prepared message to `topic`, awaiting the broker's answer for each; returns the seconds it took. */
  run(topic: string): Promise<number>;
}

/** A broker opened for a benchmark; `close` ends everything it opened. */
export interface OpenedBenchBroker {
  /** factum's adapter, as the relay and the consumer use it. */
  broker: Broker;
  /** The server and client, for the report (`RabbitMQ 3.x, amqplib 0.10.x`). */
  versions: string;
  /** What the raw client does, in words: the durability both sides share. */
  rawMethod: string;
  /** Makes `topic` routable with `group` consuming it (nothing reads it yet), empty; once, outside the clock. */
  prepare(topic: string, group: string): Promise<void>;
  /** Empties what a run wrote to `topic` and leaves it prepared (outside the clock), so every run starts alike. */
  reset(topic: string, group: string): Promise<void>;
  /**
   * The raw client's publishers over `batches` (the same messages the relay publishes, in pages of
   * its batch size), converted to the client's own form here, before any clock starts. `quick`
   * keeps only the first.
   */
  rawPublishers(batches: BrokerMessage[][], quick: boolean): Promise<RawPublisher[]>;
  /** Deletes what the benchmark created for `topic` (where the broker can). */
  remove(topic: string, groups: string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A broker the benchmarks can run on.
 *
 * @example
 * const opened = await natsBenchBroker.open()
 * await opened.prepare('bench', 'g'); await opened.broker.publish('bench', messages)
 */
export interface BenchBroker {
  /** `RabbitMQ`, `NATS JetStream`, `Redis Streams`, `Kafka (librdkafka mock)`. */
  name: string;
  /** Opens the adapter and the raw client; rejects when the server cannot be reached (the benchmark then reports it as skipped, with the reason). */
  open(): Promise<OpenedBenchBroker>;
}

/**
 * Runs `send(i)` for i in 0..count-1 with at most `window` unsettled at once, in order of i;
 * resolves after the last one settled and rejects with the first failure.
 */
export async function windowed(count: number, window: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let failure: unknown;
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < count && failure === undefined; i++) {
    const p: Promise<unknown> = send(i).then(
      () => inFlight.delete(p),
      (error: unknown) => {
        failure ??= error;
        inFlight.delete(p);
      },
    );
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

/** The installed version of an npm package, for the report (`?` when it cannot be read). */
export async function packageVersion(name: string): Promise<string> {
  try {
    const { readFile } = await import('node:fs/promises');
    const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(await readFile(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}
