// Async projections on the in-process stores: memory and embedded PGlite.
import { projectionSuite } from '../../test/consumers/projection-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name !== 'postgres')) projectionSuite(factory);
