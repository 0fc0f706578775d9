// Inline projections on the in-process stores: memory and embedded PGlite.
import { inlineSuite } from '../../test/consumers/inline-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name !== 'postgres')) inlineSuite(factory);
