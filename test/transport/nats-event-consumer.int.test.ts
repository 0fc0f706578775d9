// The EventConsumer suite on the machine's NATS JetStream (127.0.0.1:4222), which it never restarts,
// with the PostgreSQL store (the pairing the relay and its consumers run on in production).
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll } from 'vitest';
import { openNatsBroker } from '../../src/nats.js';
import { natsNames } from '../../src/transport/nats/nats-topology.js';
import { serviceUnavailable } from '../services.js';
import { createdSchemas, dropSchemas, storeFactories } from '../stores.js';
import { runEventConsumerSuite, SUITE_BROKER_SETTINGS } from './event-consumer-suite.js';

const SERVERS = ['nats://127.0.0.1:4222'];
const nats = await serviceUnavailable('NATS', 4222);
afterAll(() => dropSchemas(createdSchemas));

/** Deletes a topic's stream and its groups' dead-letter streams (the broker has no call for it). */
async function deleteStreams(topic: string, groups: string[]): Promise<void> {
  const nc = await connect({ servers: SERVERS });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of [natsNames.stream(topic), ...groups.flatMap((group) => [natsNames.deadLetterStream(topic, group), natsNames.leaseStream(topic, group)])]) await jsm.streams.delete(name).catch(() => {});
  } finally {
    await nc.close();
  }
}

for (const store of (await storeFactories()).filter((factory) => factory.name === 'postgres')) {
  const skip = nats ?? store.skip;
  runEventConsumerSuite({
    name: `NATS JetStream + ${store.name} store`,
    ...(skip ? { skip } : {}),
    openBroker: () => openNatsBroker({ servers: SERVERS, ...SUITE_BROKER_SETTINGS }),
    cleanup: (_broker, topic, groups) => deleteStreams(topic, groups),
    store,
  });
}
