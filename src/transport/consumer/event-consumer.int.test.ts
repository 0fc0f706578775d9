import { afterAll } from 'vitest';
import { openRabbitMqBroker, type RabbitMqBroker } from '../rabbitmq/rabbitmq-broker.js';
import { runEventConsumerSuite, SUITE_BROKER_SETTINGS } from '../../../test/transport/event-consumer-suite.js';
import { serviceUnavailable } from '../../../test/services.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../../test/stores.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const rabbit = await serviceUnavailable('RabbitMQ', 5672);

afterAll(() => dropSchemas(createdSchemas));

// Every store behind the real broker: the sequenced dead letters live in each store's own table.
for (const store of await storeFactories()) {
  const skip = rabbit ?? store.skip;
  runEventConsumerSuite({
    name: `RabbitMQ + ${store.name} store`,
    ...(skip ? { skip } : {}),
    openBroker: () => openRabbitMqBroker({ url: AMQP_URL, ...SUITE_BROKER_SETTINGS }),
    cleanup: (broker, topic, groups) => (broker as RabbitMqBroker).deleteTopology(topic, groups),
    store,
  });
}
