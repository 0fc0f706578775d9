// The failure paths of subscriptions on the in-process stores: memory and embedded PGlite.
import { failurePathsSuite } from '../../test/runner-suites/failure-paths-suite.js';

failurePathsSuite((f) => f.name !== 'postgres');
