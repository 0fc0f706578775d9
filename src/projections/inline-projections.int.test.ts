// Inline projections on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { inlineSuite } from '../../test/consumers/inline-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) inlineSuite(factory);
afterAll(() => dropSchemas(createdSchemas));
