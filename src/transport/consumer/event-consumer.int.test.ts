import { afterAll } from 'vitest';
import { openRabbitMqBroker, type RabbitMqBroker } from '../rabbitmq/rabbitmq-broker.js';
import { runEventConsumerSuite, SUITE_BROKER_SETTINGS } from '../../../test/transport/event-consumer-suite.js';
import { serviceUnavailable } from '../../../test/services.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../../test/stores.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const postgres = (await storeFactories()).find((f) => f.name === 'postgres')!;
const skip = (await serviceUnavailable('RabbitMQ', 5672)) ?? postgres.skip;

afterAll(() => dropSchemas(createdSchemas));

runEventConsumerSuite({
  name: 'RabbitMQ + postgres store',
  ...(skip ? { skip } : {}),
  openBroker: () => openRabbitMqBroker({ url: AMQP_URL, ...SUITE_BROKER_SETTINGS }),
  cleanup: (broker, topic, groups) => (broker as RabbitMqBroker).deleteTopology(topic, groups),
  store: postgres,
});
