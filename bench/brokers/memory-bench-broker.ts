/**
 * factum's in-memory broker, for the relay benchmark only: no server, no raw client. The relay's
 * throughput to it is the relay's own ceiling on this machine (reading the log, making the
 * messages, checkpointing): a raw client faster than that cannot be reached at 0.8 by any adapter.
 */
import { MemoryBroker } from '../../src/transport/memory/memory-broker.js';
import type { BenchBroker, OpenedBenchBroker } from './bench-broker.js';

/**
 * The in-memory broker (`MemoryBroker`); its `rawPublishers` is empty.
 *
 * @example
 * const opened = await memoryBenchBroker.open()
 */
export const memoryBenchBroker: BenchBroker = {
  name: 'in memory (no broker: the relay alone)',
  async open(): Promise<OpenedBenchBroker> {
    let broker = new MemoryBroker();
    const prepare = async (topic: string, group: string) => (await broker.consume({ topic, group, handler: async () => {} })).stop();
    return {
      get broker() {
        return broker;
      },
      versions: 'factum MemoryBroker',
      rawMethod: 'none (no broker to compare with)',
      prepare,
      async reset(topic, group) {
        // A new broker each run, so that the messages of the last one are dropped.
        await broker.close();
        broker = new MemoryBroker();
        await prepare(topic, group);
      },
      async rawPublishers() {
        return [];
      },
      async remove() {},
      async close() {
        await broker.close();
      },
    };
  },
};
