// Partitioned subscriptions in one process on the memory store and embedded PGlite.
import { partitionSuite } from '../../test/runner-suites/partition-suite.js';

partitionSuite((f) => f.name !== 'postgres');
