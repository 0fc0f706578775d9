/**
 * Kafka for the relay and latency benchmarks, on librdkafka's mock cluster (the only Kafka on
 * these machines, started by scripts/services.sh; it keeps everything in memory, so this measures
 * the client and factum's share, not a broker's disks): factum's adapter and raw kafkajs sending
 * the same records (key, headers, value, the partition of the same hash) with acks=all and one
 * request in flight per broker, one `send` per page of the relay's size.
 *
 * Neither side uses the idempotent producer: kafkajs asks the cluster's controller for a
 * producer id, and the mock names none ("Broker 0 not found in the cached metadata"). Against a
 * real cluster factum's default is idempotent (`KafkaBrokerOptions.idempotent`).
 *
 * The consumer's fetch wait is 5 ms instead of the default 100: Kafka answers a waiting fetch as
 * soon as a record arrives, the mock only once the wait is over (it cannot cut it short), so with
 * the default every record published just after an empty fetch would wait up to 100 ms, which
 * measures the mock, not a consumer (`KafkaBrokerOptions.fetchWaitMs`).
 */
import { readFile } from 'node:fs/promises';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { partitionOf } from '../../src/consumers/partition-of.js';
import { openKafkaBroker } from '../../src/kafka.js';
import { toKafka } from '../../src/transport/kafka/kafka-message.js';
import { nowSeconds } from '../measure.js';
import { BENCH_PARTITIONS, packageVersion, windowed, type BenchBroker, type OpenedBenchBroker } from './bench-broker.js';

const MOCK_DIR = process.env.FACTUM_KAFKA_MOCK_DIR ?? '/tmp/factum-kafka-mock';
const MOCK_FETCH_WAIT_MS = 5;
/** `send` calls raw keeps in flight: one at a time (as the adapter sends), or 8. */
const RAW_DEPTHS = [1, 8] as const;

async function bootstrap(): Promise<string[]> {
  const listed = process.env.FACTUM_KAFKA_BROKERS ?? (await readFile(`${MOCK_DIR}/bootstrap`, 'utf8').catch(() => ''));
  const brokers = listed.trim().split(',').filter(Boolean);
  if (brokers.length === 0) throw new Error(`the Kafka mock cluster is not running (no ${MOCK_DIR}/bootstrap; run: bash scripts/services.sh)`);
  return brokers;
}

/**
 * Kafka on `FACTUM_KAFKA_BROKERS`, or the mock cluster whose address scripts/services.sh wrote to
 * `$FACTUM_KAFKA_MOCK_DIR/bootstrap`.
 *
 * @example
 * const opened = await kafkaBenchBroker.open()
 */
export const kafkaBenchBroker: BenchBroker = {
  name: 'Kafka (librdkafka mock)',
  async open(): Promise<OpenedBenchBroker> {
    const brokers = await bootstrap();
    const broker = await openKafkaBroker({ brokers, partitions: BENCH_PARTITIONS, idempotent: false, fetchWaitMs: MOCK_FETCH_WAIT_MS });
    const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING });
    const producer: Producer = kafka.producer({ idempotent: false, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (error) {
      await broker.close();
      throw error;
    }
    return {
      broker,
      versions: `librdkafka 2.0.2 mock cluster (3 brokers, in memory), kafkajs ${await packageVersion('kafkajs')}`,
      rawMethod: 'kafkajs producer.send of the same records (partition by the same hash) with acks=all, one request in flight per broker, not idempotent (the mock cannot), one send per page of the relay\'s size, at most `depth` sends in flight',
      async prepare(topic, group) {
        // The group's first consumer creates the topic with its partitions.
        await (await broker.consume({ topic, group, handler: async () => {} })).stop();
      },
      async reset() {
        // Kafka keeps a log; nothing to empty (the mock holds it in memory).
      },
      async rawPublishers(batches, quick) {
        const prepared = batches.map((batch) => batch.map((m) => ({ ...toKafka(m), partition: partitionOf(m.key, BENCH_PARTITIONS) })));
        return RAW_DEPTHS.slice(0, quick ? 1 : undefined).map((depth) => ({
          name: `depth ${depth}`,
          async run(topic: string) {
            const start = nowSeconds();
            await windowed(prepared.length, depth, (b) => producer.send({ topic, acks: -1, messages: prepared[b]! }));
            return nowSeconds() - start;
          },
        }));
      },
      async remove() {
        // The mock has no DeleteTopics; its topics go when it stops.
      },
      async close() {
        await producer.disconnect().catch(() => {});
        await broker.close();
      },
    };
  },
};
