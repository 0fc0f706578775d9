// Sagas on a real PostgreSQL server: the shared suite.
import { afterAll } from 'vitest';
import { sagaSuite } from '../../test/runner-suites/saga-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

sagaSuite((await storeFactories()).filter((f) => f.name === 'postgres'));
afterAll(() => dropSchemas(createdSchemas));
