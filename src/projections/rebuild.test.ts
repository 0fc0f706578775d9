// Rebuilds on the embedded PGlite store.
import { rebuildSuite } from '../../test/runner-suites/rebuild-suite.js';

rebuildSuite((f) => f.name === 'pglite');
