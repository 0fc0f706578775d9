// The conformance suite on a real PostgreSQL server: as configured by default (single-event
// appends by a plain INSERT, batched), and without prepared statements, as behind a pooler
// that keeps none (every append then goes through the append function).
import { afterAll } from 'vitest';
import { eventStoreConformance } from '../../test/conformance/event-store-conformance.js';
import { createdSchemas, dropSchemas, openTestPostgres, storeFactories } from '../../test/stores.js';

const postgres = (await storeFactories()).filter((f) => f.name === 'postgres');
eventStoreConformance([
  ...postgres,
  ...postgres.map((factory) => ({ ...factory, label: 'postgres without prepared statements', open: (options = {}) => openTestPostgres({ ...options, preparedStatements: false }) })),
]);
afterAll(() => dropSchemas(createdSchemas));
