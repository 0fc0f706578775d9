// Retries, sequenced dead letters and the inbox on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { failureSuite } from '../../test/consumers/failure-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) failureSuite(factory);
afterAll(() => dropSchemas(createdSchemas));
