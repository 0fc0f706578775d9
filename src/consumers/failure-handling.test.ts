// Retries, sequenced dead letters and the inbox on the in-process stores: memory and embedded PGlite.
import { failureSuite } from '../../test/runner-suites/failure-suite.js';

failureSuite((f) => f.name !== 'postgres');
