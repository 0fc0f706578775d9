import { handlerAppendSuite } from '../../test/consumers/handler-append-suite.js';

handlerAppendSuite((f) => f.name !== 'postgres');
