// The relay on the real NATS JetStream, over PostgreSQL.
import { afterAll } from 'vitest';
import { openNatsBroker } from '../../src/nats.js';
import { serviceUnavailable } from '../services.js';
import { createdSchemas, dropSchemas } from '../stores.js';
import { CONTRACT_SETTINGS } from './broker-contract.js';
import { runRelaySuite } from './relay-suite.js';

const skip = await serviceUnavailable('NATS', 4222);
afterAll(() => dropSchemas(createdSchemas));

runRelaySuite({
  name: 'NATS JetStream',
  open: () => openNatsBroker({ servers: ['nats://127.0.0.1:4222'], ...CONTRACT_SETTINGS }),
  stores: (factory) => factory.name === 'postgres',
  ...(skip ? { skip } : {}),
});
