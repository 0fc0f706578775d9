// Async projections on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { projectionSuite } from '../../test/consumers/projection-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) projectionSuite(factory);
afterAll(() => dropSchemas(createdSchemas));
