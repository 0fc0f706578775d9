// The conformance suite on the in-process stores: memory and embedded PGlite.
import { eventStoreConformance } from '../../test/conformance.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name !== 'postgres')) eventStoreConformance(factory);
