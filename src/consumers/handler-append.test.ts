import { handlerAppendSuite } from '../../test/runner-suites/handler-append-suite.js';

handlerAppendSuite((f) => f.name !== 'postgres');
