// Async projections on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { projectionSuite } from '../../test/runner-suites/projection-suite.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

projectionSuite((f) => f.name === 'postgres');
afterAll(() => dropSchemas(createdSchemas));
