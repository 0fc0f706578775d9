// Inline projections on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { inlineSuite } from '../../test/runner-suites/inline-suite.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

inlineSuite((f) => f.name === 'postgres');
afterAll(() => dropSchemas(createdSchemas));
