// Async projections on the in-process stores: memory and embedded PGlite.
import { projectionSuite } from '../../test/runner-suites/projection-suite.js';

projectionSuite((f) => f.name !== 'postgres');
