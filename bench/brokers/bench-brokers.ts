import type { BenchBroker } from './bench-broker.js';
import { kafkaBenchBroker } from './kafka-bench-broker.js';
import { memoryBenchBroker } from './memory-bench-broker.js';
import { natsBenchBroker } from './nats-bench-broker.js';
import { rabbitMqBenchBroker } from './rabbitmq-bench-broker.js';
import { redisBenchBroker } from './redis-bench-broker.js';

/**
 * Every broker the relay and latency benchmarks run on, in report order. `FACTUM_BENCH_BROKERS`
 * (a comma-separated list of names' first words, lower case: `rabbitmq,nats,in`) picks some, for exploring.
 * `withMemory` adds the in-memory broker last (the relay's own ceiling, for the relay benchmark).
 *
 * @example
 * for (const target of benchBrokers()) console.log(target.name)
 */
export function benchBrokers(options: { withMemory?: boolean } = {}): BenchBroker[] {
  const all = [rabbitMqBenchBroker, natsBenchBroker, redisBenchBroker, kafkaBenchBroker, ...(options.withMemory ? [memoryBenchBroker] : [])];
  const only = process.env.FACTUM_BENCH_BROKERS?.split(',').map((s) => s.trim().toLowerCase());
  return only ? all.filter((b) => only.includes(b.name.split(' ')[0]!.toLowerCase())) : all;
}
