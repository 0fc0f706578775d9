// Retries, sequenced dead letters and the inbox on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { failureSuite } from '../../test/runner-suites/failure-suite.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

failureSuite((f) => f.name === 'postgres');
afterAll(() => dropSchemas(createdSchemas));
