import { z } from 'zod';
import { EventRegistry, checkSchemaFile, defineEvent, openEventStore, unwrapEventStore } from 'factum';

// Version 1 was { sku }. Version 2 adds a quantity: declare it with an upcaster from version 1;
// never edit version 1 in place (the compatibility check below refuses that).
const ItemAdded = defineEvent('ItemAdded', z.object({ sku: z.string() }))
  .withVersion(2, z.object({ sku: z.string(), quantity: z.number().int().positive() }), (v1) => ({ ...v1, quantity: 1 }));

const registry = new EventRegistry([ItemAdded]);
const store = registry.wrap(await openEventStore('memory:'));
// As old code wrote it (the typed store takes only the current version: go under the registry).
await unwrapEventStore(store).append('cart-1', [{ type: 'ItemAdded', schemaVersion: 1, data: { sku: 'old' } }]);
await store.append('cart-1', [ItemAdded.create({ sku: 'new', quantity: 3 })]); // typed and validated: bad data throws EVENT_SCHEMA_VIOLATION
for await (const event of store.readStream('cart-1')) console.log(event.schemaVersion, JSON.stringify(event.data));
// 2 {"sku":"old","quantity":1}, then 2 {"sku":"new","quantity":3}: every reader sees the current version

// In CI: compare the code's schemas with the JSON Schema snapshot committed in the repository.
const report = await checkSchemaFile('events.schema.json', registry, { update: true });
if (!report.compatible) {
  for (const problem of report.problems) console.error(problem.message); // "ItemAdded v1: sku: required field removed; ..."
  process.exitCode = 1;
}
