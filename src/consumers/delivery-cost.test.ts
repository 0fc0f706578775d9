// What a delivery costs in savepoints, on embedded PGlite (the memory store, listed as skipped, has no SQL to count).
import { deliveryCostSuite } from '../../test/runner-suites/delivery-cost-suite.js';

deliveryCostSuite((factory) => factory.name !== 'postgres');
