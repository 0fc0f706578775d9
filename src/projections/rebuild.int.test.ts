// Rebuilds on a real PostgreSQL server, with the live runner and appends running alongside.
import { afterAll } from 'vitest';
import { rebuildSuite } from '../../test/runner-suites/rebuild-suite.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

rebuildSuite((f) => f.name === 'postgres');
afterAll(() => dropSchemas(createdSchemas));
