// The relay on the in-memory broker, on every store (memory, PGlite, PostgreSQL).
import { afterAll } from 'vitest';
import { MemoryBroker } from '../memory/memory-broker.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';
import { runRelaySuite } from '../../../test/transport/relay-suite.js';

runRelaySuite({ name: 'the memory broker', open: async () => new MemoryBroker({ maxMessageBytes: 64 * 1024 }) });
afterAll(() => dropSchemas(createdSchemas));
