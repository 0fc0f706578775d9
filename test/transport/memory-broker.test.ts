import { MemoryBroker } from '../../src/transport/memory/memory-broker.js';
import { CONTRACT_SETTINGS, runBrokerContract } from './broker-contract.js';

// One broker per test, shared by every client the test opens (the memory broker has no server).
let current: MemoryBroker | undefined;
let clients = 0;

runBrokerContract({
  name: 'memory',
  async open() {
    if (!current || clients === 0) current = new MemoryBroker(CONTRACT_SETTINGS);
    clients++;
    const broker = current;
    // Each "client" closes on its own; the broker itself is dropped with the last one.
    return Object.assign(Object.create(broker) as MemoryBroker, {
      close: async () => {
        clients--;
        if (clients === 0) await broker.close();
      },
    });
  },
  skip: [
    { reason: 'the in-memory broker lives in one process, so no other process can consume from it', tests: ['redelivers a message to another consumer when its consumer is SIGKILLed before its ack'] },
    { reason: 'the in-memory broker has no server to restart', tests: ['survives a broker restart mid-publish and mid-consume: confirmed messages are all delivered, the rest fail as BROKER_UNAVAILABLE, both resume'] },
  ],
});
