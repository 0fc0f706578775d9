// The relay on the real RabbitMQ, over PostgreSQL.
import { afterAll } from 'vitest';
import { openRabbitMqBroker, type RabbitMqBroker } from '../../rabbitmq.js';
import { CONTRACT_SETTINGS } from '../../../test/transport/broker-contract.js';
import { runRelaySuite } from '../../../test/transport/relay-suite.js';
import { serviceUnavailable } from '../../../test/services.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const skip = await serviceUnavailable('RabbitMQ', 5672);
afterAll(() => dropSchemas(createdSchemas));

runRelaySuite({
  name: 'RabbitMQ',
  open: () => openRabbitMqBroker({ url: AMQP_URL, ...CONTRACT_SETTINGS }),
  cleanup: (broker, topic, groups) => (broker as RabbitMqBroker).deleteTopology(topic, groups),
  stores: (factory) => factory.name === 'postgres',
  ...(skip ? { skip } : {}),
});
