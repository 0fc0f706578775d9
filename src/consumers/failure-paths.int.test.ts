// The failure paths of subscriptions on a real PostgreSQL server.
import { afterAll } from 'vitest';
import { failurePathsSuite } from '../../test/runner-suites/failure-paths-suite.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

failurePathsSuite((f) => f.name === 'postgres');
afterAll(() => dropSchemas(createdSchemas));
