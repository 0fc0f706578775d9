// Subscriptions on the in-process stores: memory and embedded PGlite.
import { subscriptionSuite } from '../../test/consumers/subscription-suite.js';
import { storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name !== 'postgres')) subscriptionSuite(factory);
