// The fault run (test/transport/fault-run-suite.ts) on NATS JetStream: a nats-server of the test's
// own on 4252 (`-js -sd <temp dir>`), SIGKILLed once mid-run and started again on the same store
// dir. The machine's NATS on 4222 and the cluster test's 4232-4234 are never touched.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { openNatsBroker } from '../../src/nats.js';
import { natsNames } from '../../src/transport/nats/nats-topology.js';
import { describeFaultRun, FAULT_RUN_GROUPS, FAULT_RUN_PARTITIONS } from './fault-run-suite.js';
import { ownNatsServer, ownNatsServerUnavailable } from './own-nats-server.js';

const PORT = 4252;
/** Down this long before it is started again: the relay and the consumers see it gone. */
const DOWN_MS = 2000;
const server = await ownNatsServer(PORT);
let probe: { nc: NatsConnection; jsm: JetStreamManager } | undefined;

await describeFaultRun({
  name: 'NATS JetStream',
  kind: 'nats',
  url: server.url,
  unavailable: () => ownNatsServerUnavailable(PORT),
  setUp: () => server.start(),
  openBroker: () => openNatsBroker({ servers: [server.url], name: 'fault-run-tap', partitions: FAULT_RUN_PARTITIONS, ackWaitMs: 3000 }),
  // The consumers run at the default prefetch: partition leases keep one process per partition (nats-partition-lease.ts).
  async restart(log) {
    log(`SIGKILL nats-server :${PORT}`);
    try {
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    } finally {
      await server.start();
      log(`nats-server :${PORT} started again on its store dir`);
    }
  },
  async depths(topic) {
    if (!probe) {
      const nc = await connect({ servers: server.url, name: 'fault-run-depths' });
      probe = { nc, jsm: await jetstreamManager(nc) };
    }
    const { jsm } = probe;
    const partitions: Record<string, number> = {};
    const deadLetters: Record<string, number> = {};
    for (const group of FAULT_RUN_GROUPS) {
      for (let p = 0; p < FAULT_RUN_PARTITIONS; p++) {
        const info = await jsm.consumers.info(natsNames.stream(topic), natsNames.consumer(group, p));
        partitions[`${natsNames.stream(topic)}/${info.name}`] = info.num_pending + info.num_ack_pending;
      }
      const stream = natsNames.deadLetterStream(topic, group);
      deadLetters[stream] = (await jsm.streams.info(stream)).state.messages;
    }
    return { partitions, deadLetters };
  },
  // The server and its store dir go in tearDown.
  removeTopic: async () => {},
  async tearDown() {
    await probe?.nc.close();
    await server.remove();
  },
});
