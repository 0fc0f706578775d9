// Sagas on the in-process stores: memory and embedded PGlite.
import { sagaSuite } from '../../test/runner-suites/saga-suite.js';

sagaSuite((f) => f.name !== 'postgres');
