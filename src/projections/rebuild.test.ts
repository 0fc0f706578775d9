// Rebuilds on the embedded PGlite store.
import { rebuildSuite } from '../../test/consumers/rebuild-suite.js';

rebuildSuite((f) => f.name === 'pglite');
