import { afterAll } from 'vitest';
import { handlerAppendSuite } from '../../test/runner-suites/handler-append-suite.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

handlerAppendSuite((f) => f.name === 'postgres');
afterAll(() => dropSchemas(createdSchemas));
