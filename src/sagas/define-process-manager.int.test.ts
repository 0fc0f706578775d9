// Process managers on a real PostgreSQL server: the shared suite.
import { afterAll } from 'vitest';
import { processManagerSuite } from '../../test/runner-suites/process-manager-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

processManagerSuite((await storeFactories()).filter((f) => f.name === 'postgres'));
afterAll(() => dropSchemas(createdSchemas));
