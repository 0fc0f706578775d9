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
  type FactumErrorCode,
} from './core/errors.js';
export { uuidv7, isUuid } from './core/uuid.js';
export {
  streamCategory,
  type JsonValue,
  type EventMetadata,
  type NewEvent,
  type RecordedEvent,
  type ExpectedVersion,
  type AppendResult,
} from './core/message.js';
export type {
  EventStore,
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
export { MemoryEventStore, type MemoryEventStoreOptions } from './store/memory/memory-event-store.js';
export { openEventStore, type OpenEventStoreOptions } from './store/open-event-store.js';
