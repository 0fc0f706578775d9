// Rebuilds on a real PostgreSQL server, with the live runner and appends running alongside.
import { afterAll } from 'vitest';
import { rebuildSuite } from '../../test/consumers/rebuild-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) rebuildSuite(factory);
afterAll(() => dropSchemas(createdSchemas));
