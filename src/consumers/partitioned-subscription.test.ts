// Partitioned subscriptions in one process on the memory store and embedded PGlite.
import { partitionSuite } from '../../test/consumers/partition-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name !== 'postgres')) partitionSuite(factory);
