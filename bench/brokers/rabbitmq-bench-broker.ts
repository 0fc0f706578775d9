/**
 * RabbitMQ for the relay and latency benchmarks: factum's adapter and raw amqplib on a confirm
 * channel, persistent messages to the same durable quorum partition queues, publisher confirms
 * (bench/raw-amqp-publish.ts), in batches of the relay's page size at a few simple windows.
 */
import amqp from 'amqplib';
import { openRabbitMqBroker, rabbitMqNames } from '../../src/rabbitmq.js';
import { prepareForAmqp, rawRun } from '../raw-amqp-publish.js';
import { BENCH_PARTITIONS, packageVersion, type BenchBroker, type OpenedBenchBroker } from './bench-broker.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
/** Unconfirmed messages raw allows: 256, 1,024, or a whole batch then `waitForConfirms`. */
const RAW_WINDOWS = [256, 1024, 500] as const;

/**
 * RabbitMQ on `FACTUM_AMQP_URL` (amqp://127.0.0.1 by default).
 *
 * @example
 * const opened = await rabbitMqBenchBroker.open()
 */
export const rabbitMqBenchBroker: BenchBroker = {
  name: 'RabbitMQ',
  async open(): Promise<OpenedBenchBroker> {
    const broker = await openRabbitMqBroker({ url: AMQP_URL, partitions: BENCH_PARTITIONS });
    let connection: amqp.ChannelModel;
    try {
      connection = await amqp.connect(AMQP_URL);
    } catch (error) {
      await broker.close();
      throw error;
    }
    const channel = await connection.createConfirmChannel();
    const server = String(connection.connection.serverProperties?.version ?? '?');
    return {
      broker,
      versions: `RabbitMQ ${server}, amqplib ${await packageVersion('amqplib')}`,
      rawMethod: 'amqplib confirm channel, persistent, to the same durable quorum partition queues, publisher confirms, batches of the relay\'s page size one at a time, at most `window` unconfirmed',
      async prepare(topic, group) {
        // A consumer that stops at once declares the group's quorum queues, which then receive every message.
        await (await broker.consume({ topic, group, handler: async () => {} })).stop();
      },
      async reset(topic, group) {
        for (let p = 0; p < BENCH_PARTITIONS; p++) await channel.purgeQueue(rabbitMqNames.partitionQueue(topic, group, p));
      },
      async rawPublishers(batches, quick) {
        const prepared = batches.map((batch) => prepareForAmqp(batch, BENCH_PARTITIONS));
        return RAW_WINDOWS.slice(0, quick ? 1 : undefined).map((window) => ({ name: `window ${window}`, run: (topic: string) => rawRun(channel, topic, prepared, window) }));
      },
      async remove(topic, groups) {
        await broker.deleteTopology(topic, groups);
      },
      async close() {
        await channel.close().catch(() => {});
        await connection.close().catch(() => {});
        await broker.close();
      },
    };
  },
};
