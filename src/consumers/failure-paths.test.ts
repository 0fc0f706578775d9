// The failure paths of subscriptions on the in-process stores: memory and embedded PGlite.
import { failurePathsSuite } from '../../test/consumers/failure-paths-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name !== 'postgres')) failurePathsSuite(factory);
