// The conformance suite on the in-process stores: memory and embedded PGlite.
import { eventStoreConformance } from '../../test/conformance/event-store-conformance.js';

eventStoreConformance((f) => f.name !== 'postgres');
