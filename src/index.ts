// The public surface of `factum`, listed by hand. Drivers live behind subpaths
// (`factum/postgres`, `factum/pglite`) so that the core needs none of them.
export {
  FactumError,
  ConcurrencyError,
  isFactumError,
  isConcurrencyError,
  isIdempotencyConflict,
  isStreamTombstoned,
  isValidationError,
  isStoreClosed,
  hasCode,
  type FactumErrorCode,
} from './core/errors.js';
export { uuidv7, isUuid } from './core/uuid.js';
export {
  streamCategory,
  type JsonValue,
  type EventMetadata,
  type NewEvent,
  type RecordedEvent,
  type RecordedOf,
  type NewOf,
  type EventShape,
  type ExpectedVersion,
  type AppendResult,
} from './core/message.js';
export type {
  EventStore,
  EventStoreTransaction,
  AppendOptions,
  ReadStreamOptions,
  ReadAllOptions,
  ReadAllPageOptions,
  AllFilter,
  AllPage,
  StreamMetadata,
  StreamInfo,
  ListStreamsOptions,
  DeleteStreamOptions,
} from './core/event-store.js';
export { DEFAULT_LIMITS, type StoreLimits } from './core/validation.js';
export type { MemoryEventStore, MemoryEventStoreOptions } from './store/memory/memory-event-store.js';
export type { SqlEventStore, SqlEventStoreOptions } from './store/sql/sql-event-store.js';
export type { AppendBatching } from './store/sql/append/single-event-appends.js';
export type { SqlQueryable } from './core/sql-queryable.js';
export { storeCapabilities, NO_CAPABILITIES, type StoreCapabilities } from './core/store-capabilities.js';
export { sqlAccess, type SqlAccess, type SqlClient, type SqlNames } from './store/sql-access.js';
export { storeServices, StoreServices, ServiceKey } from './store/store-services.js';
export { openEventStore, type OpenEventStoreOptions } from './store/open-event-store.js';
export { importEvents, type ImportEvent, type ImportOptions, type ImportProgress, type ImportResult } from './store/import/import-events.js';
// Retention with archival to cold storage (src/store/archive).
export { isEventsArchived, isArchiveCorrupted } from './core/errors.js';
export { archiveEvents, type ArchiveOptions, type ArchiveProgress, type ArchiveResult } from './store/archive/archive-events.js';
export { restoreArchive, type RestoreOptions, type RestoreProgress, type RestoreResult } from './store/archive/restore-archive.js';
export { verifyArchive, type VerifiedArchive } from './store/archive/verify-archive.js';
export { readArchiveManifest, type ArchiveManifest, type ArchiveSegment } from './store/archive/archive-manifest.js';
export { retentionRuleFor, type RetentionPolicy, type RetentionRule } from './store/archive/retention-policy.js';
export type { ArchivedEvent, VersionRange } from './store/archive/archive-storage.js';
// What the CLI shows, for operators' own tools: migrations, events with their lineage, runners, dead letters.
export { storeMigrations, applyMigrations, type MigrationState } from './store/store-migrations.js';
export { eventLineage, type EventLineage } from './store/event-lineage.js';
export { runnerOverview, type RunnerOverview } from './consumers/runner-overview.js';
export { allDeadLetters } from './consumers/all-dead-letters.js';
export { requestDeadLetterAction } from './consumers/request-dead-letter-action.js';
export type { DeadLetterActionOptions, DeadLetterActionOutcome } from './consumers/request-dead-letter-action.js';
export type { DeadLetterAction, DeadLetterRequest } from './consumers/dead-letter-requests.js';
export { defineConfig, type FactumConfig } from './cli/factum-config.js';
// The dashboard: a handler to mount in your server, or a server of its own (src/dashboard).
export { createDashboard, TOKEN_HEADER, type Dashboard, type DashboardOptions } from './dashboard/create-dashboard.js';
export type { DashboardRunner } from './dashboard/dashboard-api.js';
export type { MetricsSource } from './dashboard/serve-metrics.js';
export { startDashboard, type RunningDashboard, type StartDashboardOptions } from './dashboard/start-dashboard.js';
// Domain modelling: deciders, aggregates, command handling, snapshots (src/domain).
export { isInfrastructureError } from './core/errors.js';
export { DomainError, isDomainError } from './domain/domain-error.js';
export { type Decider, type Command, type CommandMetadata, type SnapshotOptions, type EvolveEvent } from './domain/decider.js';
export { Aggregate, aggregateDecider, type AggregateDeciderOptions } from './domain/aggregate.js';
export { handleCommand, COMMAND_RETRY_POLICY, type HandleCommandOptions, type CommandResult } from './domain/handle-command.js';
export { loadState, takeSnapshot, type LoadStateOptions, type LoadedState } from './domain/load-state.js';
export { stateHistory, type StateHistory, type StateStep } from './domain/state-history.js';
export { stateChanges, plainState, type StateChange } from './domain/state-changes.js';
export type { Snapshot, SnapshotStore } from './domain/snapshots/snapshot-store.js';
export { MemorySnapshotStore } from './domain/snapshots/memory-snapshot-store.js';
export { SqlSnapshotStore, type SqlSnapshotTarget } from './domain/snapshots/sql-snapshot-store.js';
export { snapshotStoreFor } from './domain/snapshots/snapshot-store-for.js';
// Event schemas, validation, upcasting and compatibility (src/schema).
export { defineEvent, EventType, type Upcaster, type EventTypeVersion, type EventVersionOptions, type InferEvent } from './schema/event-type.js';
export { EventRegistry, type EventRegistryOptions, type EventSource } from './schema/event-registry.js';
export { unwrapEventStore, eventRegistryOf, type RegisteredEventStore, type UnwrappedEventStore } from './schema/registered-event-store.js';
export { EventSchemaViolationError, isEventSchemaViolationError, type SchemaIssue } from './schema/event-schema-violation-error.js';
export { schemaSnapshot, parseSchemaSnapshot, type SchemaSnapshot } from './schema/schema-snapshot.js';
export { checkCompatibility, assertCompatible, type CompatibilityReport, type CompatibilityProblem } from './schema/check-compatibility.js';
export { checkSchemaFile, type CheckSchemaFileOptions } from './schema/schema-snapshot-file.js';
export { breakingChanges, type BreakingRule, type SchemaChange } from './schema/json-schema-changes.js';
export type { StandardSchemaV1, StandardIssue, InferInput, InferOutput } from './schema/standard-schema.js';
// Subscriptions, checkpoints, retries, dead letters, inbox, partitions (src/consumers).
export { isCheckpointConflict, isWaitTimeout } from './core/errors.js';
export { Subscription, type SubscriptionOptions, type SubscriptionStatus, type EventHandler, type HandlerContext, type DrainResult } from './consumers/subscription.js';
export { PartitionedSubscription, type PartitionedSubscriptionOptions } from './consumers/partitioned-subscription.js';
export { partitionOf } from './consumers/partition-of.js';
export { retryDelays, DEFAULT_RETRY_POLICY, type RetryPolicy } from './core/retry-policy.js';
export { Inbox, type InboxOutcome } from './consumers/inbox.js';
export type { Checkpoint, DeadLetter, DeadLetterStatus } from './consumers/consumer-storage.js';
// Projections: inline, async, rebuild, read-your-writes (src/projections).
export { defineProjection, type Projection, type ProjectionDefinition, type ProjectionHandler, type ProjectionHandlers, type ProjectionContext } from './projections/projection.js';
export { ProjectionRunner, type ProjectionRunnerOptions } from './projections/projection-runner.js';
export { InlineProjections, type InlineProjectionsStatus } from './projections/inline-projections.js';
export { readModel, type ReadModel } from './projections/read-model.js';
export { rebuildProjection, type RebuildOptions, type RebuildProgress, type RebuildResult } from './projections/rebuild.js';
// Messaging: the Broker port, the event envelope, the in-memory broker (src/transport); RabbitMQ is `factum/rabbitmq`.
export { isBrokerUnavailable, isMessageRefused } from './core/errors.js';
export type { Broker, BrokerCapabilities, BrokerConsumer, BrokerDeadLetter, BrokerDeadLetters, BrokerLag, ConsumeOptions, Delivery } from './transport/broker.js';
export type { BrokerMessage, PublishResult, RefusalReason } from './transport/broker-message.js';
export { eventToMessage, messageToEvent, MESSAGE_HEADERS } from './transport/message-envelope.js';
export { messageBytes } from './transport/message-bytes.js';
export { MemoryBroker, type MemoryBrokerOptions } from './transport/memory/memory-broker.js';
export { Relay, type RelayOptions, type RelayStatus } from './transport/relay/relay.js';
export { byCategory, type RelayRoute } from './transport/relay/relay-route.js';
export { RELAY_RETRY_POLICY, type RelayPublishStats } from './transport/relay/relay-publisher.js';
export { EventConsumer, type EventConsumerOptions, type EventConsumerStatus } from './transport/consumer/event-consumer.js';
export type { EventConsumerFailure } from './transport/consumer/consumer-outcomes.js';
export type { EventConsumerContext, EventConsumerHandler } from './transport/consumer/event-consumer-context.js';
export type { EventConsumerDeadLetter } from './transport/consumer/consumer-dead-letters.js';
export { readMessageEvent } from './transport/consumer/read-message-event.js';
// Workflows: deciders over messages, their logs as streams, durable timers (src/sagas).
export { defineWorkflow, send, publish, schedule, cancel, complete, acquire, release, type Workflow, type WorkflowDefinition, type WorkflowInput, type WorkflowMessage, type WorkflowOutput, type TimerFired, type SendCommand, type PublishEvent, type ScheduleTimer, type CancelTimer, type CompleteWorkflow, type AcquireLock, type ReleaseLock, type LockResult, type LockHolder } from './sagas/workflow.js';
export { defineSaga, type Saga, type SagaDefinition, type SagaStep, type SagaCompensation, type SagaLock, type SagaContext, type SagaState, type SagaStatus, type SagaResult } from './sagas/define-saga.js';
export { defineProcessManager, type ProcessManagerDefinition } from './sagas/define-process-manager.js';
export { WorkflowRunner, type WorkflowRunnerOptions, type WorkflowRunnerStatus, type WorkflowCommandHandler, type WorkflowCommandHandlers, type WorkflowCommandContext } from './sagas/workflow-runner.js';
export { TimerService, type TimerServiceOptions, type TimerServiceStatus } from './sagas/timer-service.js';
export { WorkflowQueries, type WorkflowInstanceDetails } from './sagas/workflow-queries.js';
export { workflowStreamId, foldWorkflowLog, WORKFLOW_LOG_TYPES, type InputAcceptedData, type FoldedInstance } from './sagas/workflow-log.js';
export type { CommandIssuedData } from './sagas/accept-input.js';
export type { WorkflowTimer, WorkflowInstanceRow, SemanticLock } from './sagas/workflow-tables.js';
// Observability (src/observability, src/core/telemetry): consistency bounds and the monitor that
// judges them, the metrics and spans recorded through @opentelemetry/api, alert rules and a Grafana
// dashboard. The Prometheus endpoint is `factum/prometheus`.
export { ConsistencyMonitor, type ConsistencyMonitorOptions, type MonitoredRunner } from './observability/consistency-monitor.js';
export { evaluateWindow, type WindowVerdict } from './observability/evaluate-window.js';
export { StoreRunnerMetrics, type StoreRunnerMetricsOptions } from './observability/store-runner-metrics.js';
export type { ConsistencyBound, BoundState, BoundReport, LagSample } from './observability/consistency-bound.js';
export { metricDefinitions, type MetricDefinition, type MetricKind } from './core/telemetry/metric-definitions.js';
export { alertRules, type AlertRule } from './observability/alert-rules.js';
export { grafanaDashboard } from './observability/grafana-dashboard.js';
export type { Logger } from './core/logger.js';
