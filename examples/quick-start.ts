import { isConcurrencyError, openEventStore } from 'factum';

const store = await openEventStore('memory:'); // or nothing (embedded, ./.factum/db), or 'postgres://...'

// Append facts to a stream; 'no_stream' makes the first write fail if someone got there first.
await store.append('cart-42', [
  { type: 'ItemAdded', data: { sku: 'tea', quantity: 2 } },
  { type: 'ItemAdded', data: { sku: 'mug', quantity: 1 } },
], { expectedVersion: 'no_stream' });

// Rebuild state from the stream (read page by page, however long it is).
let items = 0;
for await (const event of store.readStream('cart-42')) items += (event.data as { quantity: number }).quantity;
console.log(`cart-42 holds ${items} items`);

// A writer that read an old version is stopped with a typed error; nothing is written.
try {
  await store.append('cart-42', [{ type: 'CartCheckedOut', data: {} }], { expectedVersion: 1 });
} catch (error) {
  if (isConcurrencyError(error)) console.log(`conflict: expected ${error.expectedVersion}, found ${error.actualVersion}`);
}

// Every event of every stream, in global order, filtered by category.
for await (const event of store.readAll({ categories: ['cart'] })) console.log(`#${event.globalPosition} ${event.type}`);
await store.close();
