/**
 * NATS JetStream for the relay and latency benchmarks: factum's adapter and the raw
 * `@nats-io/jetstream` client publishing the same messages (same subjects, headers and
 * `Nats-Msg-Id`) to the same stream, awaiting every PubAck, with at most `window` awaited at once.
 */
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, MsgHdrsImpl, type NatsConnection } from '@nats-io/transport-node';
import { partitionOf } from '../../src/consumers/partition-of.js';
import { natsNames, openNatsBroker } from '../../src/nats.js';
import { toNatsHeaders } from '../../src/transport/nats/nats-message.js';
import { nowSeconds } from '../measure.js';
import { BENCH_PARTITIONS, packageVersion, windowed, type BenchBroker, type OpenedBenchBroker } from './bench-broker.js';

const SERVERS = (process.env.FACTUM_NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
/** PubAcks raw awaits at once: the adapter's default (256) and a wider one. */
const RAW_WINDOWS = [256, 1024] as const;

/** Deletes a stream, if it is there. */
async function deleteStream(jsm: JetStreamManager, name: string): Promise<void> {
  await jsm.streams.delete(name).catch(() => {});
}

/**
 * NATS JetStream on `FACTUM_NATS_URL` (nats://127.0.0.1:4222 by default).
 *
 * @example
 * const opened = await natsBenchBroker.open()
 */
export const natsBenchBroker: BenchBroker = {
  name: 'NATS JetStream',
  async open(): Promise<OpenedBenchBroker> {
    const broker = await openNatsBroker({ servers: SERVERS, partitions: BENCH_PARTITIONS });
    let nc: NatsConnection;
    let quiet: NatsConnection;
    try {
      nc = await connect({ servers: SERVERS });
      // Raw at its best too: nats.js builds an Error per request for its stack unless told not to (factum's broker does not).
      quiet = await connect({ servers: SERVERS, noAsyncTraces: true });
    } catch (error) {
      await broker.close();
      throw error;
    }
    const js: JetStreamClient = jetstream(nc);
    const jsQuiet: JetStreamClient = jetstream(quiet);
    const jsm = await jetstreamManager(nc);
    // The group's first consumer creates the stream (and its durable consumers, which nothing pulls from).
    const prepare = async (topic: string, group: string) => (await broker.consume({ topic, group, handler: async () => {} })).stop();
    return {
      broker,
      versions: `nats-server ${nc.info?.version ?? '?'}, @nats-io/jetstream ${await packageVersion('@nats-io/jetstream')}`,
      rawMethod: 'js.publish of the same subject, headers and Nats-Msg-Id to the same stream (file storage, duplicate window 2 min), every PubAck awaited, at most `window` awaited at once over the whole run',
      prepare,
      async reset(topic, group) {
        // A new stream each run: the old one would drop every re-sent Nats-Msg-Id as a duplicate.
        await deleteStream(jsm, natsNames.stream(topic));
        await prepare(topic, group);
      },
      async rawPublishers(batches, quick) {
        const messages = batches.flat();
        const prepared = messages.map((m) => ({
          partition: partitionOf(m.key, BENCH_PARTITIONS),
          body: m.body,
          msgID: m.id,
          headers: toNatsHeaders(m, MsgHdrsImpl.fromRecord),
        }));
        const raw = (client: JetStreamClient, window: number, name: string) => ({
          name,
          async run(topic: string) {
            const subject = Array.from({ length: BENCH_PARTITIONS }, (_, p) => natsNames.subject(topic, p));
            const start = nowSeconds();
            await windowed(prepared.length, window, (i) => {
              const m = prepared[i]!;
              return client.publish(subject[m.partition]!, m.body, { msgID: m.msgID, headers: m.headers, timeout: 5000 });
            });
            return nowSeconds() - start;
          },
        });
        const variants = [...RAW_WINDOWS.map((window) => raw(js, window, `window ${window}`)), raw(jsQuiet, RAW_WINDOWS[0]!, `window ${RAW_WINDOWS[0]}, noAsyncTraces`)];
        return quick ? variants.slice(0, 1) : variants;
      },
      async remove(topic, groups) {
        await deleteStream(jsm, natsNames.stream(topic));
        for (const group of groups) {
          await deleteStream(jsm, natsNames.deadLetterStream(topic, group));
          await deleteStream(jsm, natsNames.leaseStream(topic, group));
        }
      },
      async close() {
        await nc.close().catch(() => {});
        await quiet.close().catch(() => {});
        await broker.close();
      },
    };
  },
};
