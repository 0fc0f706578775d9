// Rebuilds on the embedded PGlite store.
import { rebuildSuite } from '../../test/consumers/rebuild-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'pglite')) rebuildSuite(factory);
