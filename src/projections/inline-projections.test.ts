// Inline projections on the in-process stores: memory and embedded PGlite.
import { inlineSuite } from '../../test/runner-suites/inline-suite.js';

inlineSuite((f) => f.name !== 'postgres');
