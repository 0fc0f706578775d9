/**
 * Everything the shop takes from factum, in one place. Most of it is the public surface
 * (src/index.ts); the rest are internals that only its read-model self-check needs (marked below).
 */
export {
  DomainError,
  handleCommand,
  isDomainError,
  loadState,
  snapshotStoreFor,
  uuidv7,
  Subscription,
  defineProjection,
  ProjectionRunner,
  InlineProjections,
  openEventStore,
  sqlAccess,
  type SqlAccess,
  type Command,
  type DeadLetter,
  type Decider,
  type EventStore,
  type NewEvent,
  type Projection,
  type ProjectionContext,
  type RecordedEvent,
  type SnapshotStore,
  type SubscriptionStatus,
} from '../../src/index.js';
// Internals: the projection helpers that the rebuild self-check replays with.
export type { SqlQueryable } from '../../src/store/sql/sql-client.js';
export { BaseEventStore } from '../../src/store/base-event-store.js';
export { tableNamer, applyProjection } from '../../src/projections/projection.js';
export { ensureProjectionTables } from '../../src/projections/projection-runner.js';
