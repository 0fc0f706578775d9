// Subscriptions on the in-process stores: memory and embedded PGlite.
import { subscriptionSuite } from '../../test/consumers/subscription-suite.js';

subscriptionSuite((f) => f.name !== 'postgres');
