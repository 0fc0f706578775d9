// What a delivery costs in savepoints, on embedded PGlite (the memory store has no SQL to count).
import { deliveryCostSuite } from '../../test/consumers/delivery-cost-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'pglite')) deliveryCostSuite(factory);
