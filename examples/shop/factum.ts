/**
 * Everything the shop takes from factum, in one place. The public surface (src/index.ts) is used
 * where it exports the piece; subscriptions and projections are imported from their module files
 * until src/index.ts lists them (then only this file changes).
 */
export {
  DomainError,
  handleCommand,
  isDomainError,
  loadState,
  openEventStore,
  snapshotStoreFor,
  uuidv7,
  type Command,
  type Decider,
  type AllPage,
  type EventStore,
  type ReadAllPageOptions,
  type NewEvent,
  type RecordedEvent,
  type SnapshotStore,
} from '../../src/index.js';
export { Subscription, type SubscriptionStatus } from '../../src/consumers/subscription.js';
export type { DeadLetter } from '../../src/consumers/consumer-storage.js';
export { defineProjection, tableNamer, applyProjection, type Projection, type ProjectionContext } from '../../src/projections/projection.js';
export { ProjectionRunner, ensureProjectionTables } from '../../src/projections/projection-runner.js';
export { InlineProjections } from '../../src/projections/inline-projections.js';
export { SqlEventStore } from '../../src/store/sql/sql-event-store.js';
export { BaseEventStore } from '../../src/store/base-event-store.js';
export { openPGliteEventStore } from '../../src/store/pglite/pglite-event-store.js';
export { PostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
export { postgresClient } from '../../src/store/postgres/postgres-client.js';
export type { SqlQueryable } from '../../src/store/sql/sql-client.js';
