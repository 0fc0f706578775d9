import { afterAll } from 'vitest';
import { handlerAppendSuite } from '../../test/consumers/handler-append-suite.js';
import { createdSchemas, dropSchemas, storeFactories } from '../../test/stores.js';

for (const factory of (await storeFactories()).filter((f) => f.name === 'postgres')) handlerAppendSuite(factory);
afterAll(() => dropSchemas(createdSchemas));
