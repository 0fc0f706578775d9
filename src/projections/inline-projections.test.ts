// Inline projections on the in-process stores: memory and embedded PGlite.
import { inlineSuite } from '../../test/consumers/inline-suite.js';

inlineSuite((f) => f.name !== 'postgres');
