// The failure paths of subscriptions on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { failurePathsSuite } from '../../test/consumers/failure-paths-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) failurePathsSuite(factory);
afterAll(() => dropSchemas(createdSchemas));
