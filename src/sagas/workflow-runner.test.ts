// Workflows on the in-process stores: memory and embedded PGlite.
import { workflowSuite } from '../../test/runner-suites/workflow-suite.js';

workflowSuite((f) => f.name !== 'postgres');
