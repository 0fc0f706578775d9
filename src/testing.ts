// `factum/testing`: what users' own tests need, with no database and no test runner
// dependency (failures are plain errors with readable messages).
export { DeciderSpecification, Then, SpecificationError, type ErrorExpectation } from './testing/decider-specification.js';
export { WorkflowSpecification, WorkflowThen, timerFired } from './testing/workflow-specification.js';
export { TestClock } from './testing/test-clock.js';
export { createTestStore, type TestStore, type CreateTestStoreOptions } from './testing/create-test-store.js';
export { MemoryEventStore, type MemoryEventStoreOptions } from './store/memory/memory-event-store.js';
export { MemorySnapshotStore } from './domain/snapshots/memory-snapshot-store.js';
