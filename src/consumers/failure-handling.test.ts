// Retries, sequenced dead letters and the inbox on the in-process stores: memory and embedded PGlite.
import { failureSuite } from '../../test/consumers/failure-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name !== 'postgres')) failureSuite(factory);
