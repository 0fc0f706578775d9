// The conformance suite on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { eventStoreConformance } from '../../test/conformance.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) eventStoreConformance(factory);
afterAll(() => dropSchemas(createdSchemas));
