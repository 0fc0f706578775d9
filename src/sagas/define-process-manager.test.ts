// Process managers on memory and PGlite; PostgreSQL in define-process-manager.int.test.ts.
import { processManagerSuite } from '../../test/runner-suites/process-manager-suite.js';

processManagerSuite((f) => f.name !== 'postgres');
