import type { EventStore } from '../core/event-store.js';
import { MemorySnapshotStore } from '../domain/snapshots/memory-snapshot-store.js';
import type { EventRegistry } from '../schema/event-registry.js';
import { MemoryEventStore } from '../store/memory/memory-event-store.js';
import { TestClock } from './test-clock.js';

/** Options of `createTestStore`. */
export interface CreateTestStoreOptions {
  /** Start time of the clock (2026-01-01T00:00:00Z by default). */
  start?: Date | string | number;
  /** Validate and upcast through this registry, as production code does. */
  registry?: EventRegistry;
}

/** A memory event store on a test clock, with a snapshot store beside it. */
export interface TestStore {
  store: EventStore;
  /** The unwrapped memory store (the stored events exactly as written). */
  memory: MemoryEventStore;
  clock: TestClock;
  snapshots: MemorySnapshotStore;
}

/**
 * Everything a unit test of domain code needs, in memory: a store whose `recordedAt` comes
 * from a test clock, its snapshot store, and optionally the application's event registry.
 *
 * @example
 * const { store, clock, snapshots } = createTestStore({ registry })
 * await handleCommand(store, 'cart-1', addItem, cart, { snapshots })
 * clock.advance({ days: 1 })
 */
export function createTestStore(options: CreateTestStoreOptions = {}): TestStore {
  const clock = new TestClock(options.start);
  const memory = new MemoryEventStore({ now: clock.now });
  return { store: options.registry ? options.registry.wrap(memory) : memory, memory, clock, snapshots: new MemorySnapshotStore() };
}
