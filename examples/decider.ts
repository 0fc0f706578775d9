import { z } from 'zod';
import { DomainError, EventRegistry, defineEvent, handleCommand, isDomainError, openEventStore, snapshotStoreFor, type Command, type Decider, type InferEvent } from 'factum';
import { DeciderSpecification } from 'factum/testing';

const ItemAdded = defineEvent('ItemAdded', z.object({ sku: z.string(), quantity: z.number().int().positive() }));
const CartCheckedOut = defineEvent('CartCheckedOut', z.object({ items: z.number() }));
type CartEvent = InferEvent<typeof ItemAdded> | InferEvent<typeof CartCheckedOut>;
type CartCommand = Command<'AddItem', { sku: string; quantity: number }> | Command<'CheckOut', null>;

const cart: Decider<{ items: number; open: boolean }, CartCommand, CartEvent> = {
  initialState: () => ({ items: 0, open: true }),
  evolve: (state, event) => (event.type === 'ItemAdded' ? { ...state, items: state.items + event.data.quantity } : { ...state, open: false }),
  decide: (command, state) => {
    if (!state.open) throw new DomainError('CartClosed', 'The cart is checked out');
    if (command.type === 'CheckOut') return CartCheckedOut.create({ items: state.items });
    return ItemAdded.create(command.data);
  },
  snapshot: { name: 'cart', every: 100, version: 1 }, // opt-in, keyed by name; bump `version` when the state's shape changes
};

const store = new EventRegistry([ItemAdded, CartCheckedOut]).wrap(await openEventStore('memory:'));
const snapshots = snapshotStoreFor(store);
const add: CartCommand = { type: 'AddItem', data: { sku: 'book', quantity: 2 }, metadata: { commandId: 'cmd-1', correlationId: 'order-7' } };
const { version, state } = await handleCommand(store, 'cart-1', add, cart, { snapshots }); // retries on conflicts
console.log(`cart-1 at version ${version} holds ${state.items} items`);
await handleCommand(store, 'cart-1', { type: 'CheckOut', data: null }, cart, { snapshots });
try {
  await handleCommand(store, 'cart-1', add, cart, { snapshots });
} catch (error) {
  if (isDomainError(error, 'CartClosed')) console.log('refused:', error.message);
}

// In a test, with no database:
DeciderSpecification.for(cart)
  .given([ItemAdded.create({ sku: 'book', quantity: 2 })])
  .when({ type: 'CheckOut', data: null })
  .then([CartCheckedOut.create({ items: 2 })]);
