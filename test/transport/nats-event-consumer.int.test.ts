// The event consumer behind the real NATS JetStream, on every store.
import { afterAll } from 'vitest';
import { openNatsBroker } from '../../src/nats.js';
import { serviceUnavailable } from '../services.js';
import { createdSchemas, dropSchemas, storeFactories } from '../stores.js';
import { runEventConsumerSuite, SUITE_BROKER_SETTINGS } from './event-consumer-suite.js';

const nats = await serviceUnavailable('NATS', 4222);
afterAll(() => dropSchemas(createdSchemas));

for (const store of await storeFactories()) {
  const skip = nats ?? store.skip;
  runEventConsumerSuite({
    name: `NATS JetStream + ${store.name} store`,
    ...(skip ? { skip } : {}),
    openBroker: () => openNatsBroker({ servers: ['nats://127.0.0.1:4222'], ...SUITE_BROKER_SETTINGS }),
    store,
  });
}
