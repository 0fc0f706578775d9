// Subscriptions on the in-process stores: memory and embedded PGlite.
import { subscriptionSuite } from '../../test/runner-suites/subscription-suite.js';

subscriptionSuite((f) => f.name !== 'postgres');
