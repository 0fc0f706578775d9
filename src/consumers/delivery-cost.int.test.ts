// What a delivery costs in savepoints, on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { deliveryCostSuite } from '../../test/consumers/delivery-cost-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) deliveryCostSuite(factory);
afterAll(() => dropSchemas(createdSchemas));
