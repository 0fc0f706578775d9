// What a delivery costs in savepoints, on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { deliveryCostSuite } from '../../test/runner-suites/delivery-cost-suite.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

deliveryCostSuite((factory) => factory.name === 'postgres');
afterAll(() => dropSchemas(createdSchemas));
