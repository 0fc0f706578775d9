/**
 * Every error factum raises is a `FactumError` with a stable string `code`.
 * Callers branch on the code (through the guard functions below), never on `instanceof`,
 * so errors stay recognisable across package copies and bundlers.
 *
 * @example
 * try { await store.append('order-1', events, { expectedVersion: 3 }) }
 * catch (e) { if (isConcurrencyError(e)) console.log(e.expectedVersion, e.actualVersion) }
 */
export class FactumError extends Error {
  readonly code: FactumErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: FactumErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FactumError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** The stable codes. New codes may be added; existing ones never change meaning. */
export type FactumErrorCode =
  | 'CONCURRENCY_CONFLICT'
  | 'IDEMPOTENCY_CONFLICT'
  | 'STREAM_TOMBSTONED'
  | 'INVALID_STREAM_ID'
  | 'INVALID_EVENT'
  | 'EVENT_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'STORE_CLOSED'
  | 'STORE_LOCKED'
  | 'MIGRATION_FAILED'
  | 'STORAGE_ERROR'
  // Operating tools (src/cli): a store, stream or event that is not there; a schema older than this code.
  | 'NOT_FOUND'
  | 'MIGRATIONS_PENDING'
  // Opening a store: the database cannot be reached, or its driver is not installed.
  | 'CONNECTION_FAILED'
  | 'DRIVER_MISSING'
  // store.transaction: a tx used after its end, a store called from inside its own transaction, SQL asked of the memory store.
  | 'TRANSACTION_ENDED'
  | 'TRANSACTION_IN_PROGRESS'
  | 'SQL_UNAVAILABLE'
  // Domain modelling and schemas (src/domain, src/schema).
  | 'DOMAIN_RULE_VIOLATED'
  | 'EVENT_SCHEMA_VIOLATION'
  | 'UPCAST_FAILED'
  | 'SCHEMA_INCOMPATIBLE'
  // Subscriptions and projections (src/consumers, src/projections).
  | 'CHECKPOINT_CONFLICT'
  | 'WAIT_TIMEOUT'
  | 'DEAD_LETTER_NOT_FOUND'
  | 'LEASE_LOST'
  // Brokers (src/transport): unreachable (retry later), refused a message for good, used after close.
  | 'BROKER_UNAVAILABLE'
  | 'MESSAGE_REFUSED'
  | 'BROKER_CLOSED'
  // Retention and archival (src/store/archive): a read reaching archived versions, an archive that fails its checks, a restore or archive that meets what is already there.
  | 'EVENTS_ARCHIVED'
  | 'ARCHIVE_CORRUPTED'
  | 'ARCHIVE_CONFLICT';

/**
 * The stream was not at the version the writer expected; nothing was written.
 *
 * @example
 * catch (e) { if (isConcurrencyError(e)) console.log(e.streamId, e.expectedVersion, e.actualVersion, e.streamExists) }
 */
export class ConcurrencyError extends FactumError {
  readonly streamId: string;
  readonly expectedVersion: string;
  readonly actualVersion: number;
  readonly streamExists: boolean;

  constructor(streamId: string, expectedVersion: string, actualVersion: number, streamExists: boolean) {
    const actual = streamExists ? `version ${actualVersion}` : `no stream (last version ${actualVersion})`;
    super('CONCURRENCY_CONFLICT', `Stream "${streamId}": expected ${expectedVersion}, found ${actual}`, {
      details: { streamId, expectedVersion, actualVersion, streamExists },
    });
    this.name = 'ConcurrencyError';
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
    this.streamExists = streamExists;
  }
}

/** A write targeted a tombstoned stream. */
export function streamTombstonedError(streamId: string): FactumError {
  return new FactumError('STREAM_TOMBSTONED', `Stream "${streamId}" is tombstoned and can never be written again`, { details: { streamId } });
}

/** Some, not all, of an append's event ids were written before (or elsewhere): a partial overlap. */
export function idempotencyConflictError(streamId: string, found: number, total: number): FactumError {
  return new FactumError(
    'IDEMPOTENCY_CONFLICT',
    `Stream "${streamId}": ${found} of ${total} event ids were appended before, but not as this exact run of this stream`,
    { details: { streamId, found, total } },
  );
}

/**
 * True when `error` carries one of `codes`: the one check behind every guard. It reads the code,
 * never the class, so it holds across package copies and bundlers.
 *
 * @example
 * catch (e) { if (hasCode(e, 'STORE_LOCKED', 'CONNECTION_FAILED')) process.exit(75) }
 */
export function hasCode(error: unknown, ...codes: FactumErrorCode[]): error is FactumError {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (codes as string[]).includes(code);
}

/**
 * True for any error raised by factum (it has a factum code).
 *
 * @example
 * catch (e) { if (!isFactumError(e)) throw e; log.warn(e.code, e.details) }
 */
export function isFactumError(error: unknown): error is FactumError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && 'details' in error;
}

/**
 * True when an append lost an optimistic-concurrency race (`CONCURRENCY_CONFLICT`).
 *
 * @example
 * catch (e) { if (isConcurrencyError(e)) return retryWithFreshState(e.actualVersion) }
 */
export function isConcurrencyError(error: unknown): error is ConcurrencyError {
  return hasCode(error, 'CONCURRENCY_CONFLICT');
}

/**
 * True when re-appended event ids only partly match what the stream holds (`IDEMPOTENCY_CONFLICT`).
 *
 * @example
 * catch (e) { if (isIdempotencyConflict(e)) log.error('event ids reused', e.details) }
 */
export function isIdempotencyConflict(error: unknown): error is FactumError {
  return hasCode(error, 'IDEMPOTENCY_CONFLICT');
}

/**
 * True when a write targeted a tombstoned (hard-deleted) stream (`STREAM_TOMBSTONED`).
 *
 * @example
 * catch (e) { if (isStreamTombstoned(e)) return reply(410) }
 */
export function isStreamTombstoned(error: unknown): error is FactumError {
  return hasCode(error, 'STREAM_TOMBSTONED');
}

/**
 * True for input rejected before anything was written (ids, types, data, size, arguments, schemas).
 *
 * @example
 * catch (e) { if (isValidationError(e)) return reply(400, e.message) }
 */
export function isValidationError(error: unknown): error is FactumError {
  return hasCode(error, 'INVALID_STREAM_ID', 'INVALID_EVENT', 'EVENT_TOO_LARGE', 'INVALID_ARGUMENT', 'EVENT_SCHEMA_VIOLATION');
}

/**
 * True when the store was used after `close()` (`STORE_CLOSED`).
 *
 * @example
 * catch (e) { if (isStoreClosed(e)) return // shutting down }
 */
export function isStoreClosed(error: unknown): error is FactumError {
  return hasCode(error, 'STORE_CLOSED');
}

/**
 * True when the database or the store itself failed, as opposed to a rule, a conflict or bad input.
 *
 * @example
 * catch (e) { if (isInfrastructureError(e)) return reply(503) }
 */
export function isInfrastructureError(error: unknown): error is FactumError {
  return hasCode(error, 'STORAGE_ERROR', 'STORE_CLOSED', 'MIGRATION_FAILED', 'CONNECTION_FAILED');
}

/**
 * True when another instance of a subscription advanced its checkpoint first (this one stops).
 *
 * @example
 * if (isCheckpointConflict(subscription.status().error)) log.info('another instance took over')
 */
export function isCheckpointConflict(error: unknown): error is FactumError {
  return hasCode(error, 'CHECKPOINT_CONFLICT');
}

/**
 * True when `waitFor` gave up before the position became visible (`WAIT_TIMEOUT`).
 *
 * @example
 * catch (e) { if (isWaitTimeout(e)) return reply(202) // accepted, not yet visible }
 */
export function isWaitTimeout(error: unknown): error is FactumError {
  return hasCode(error, 'WAIT_TIMEOUT');
}

/** True when a broker could not be reached or lost its connection: the message may be published again later. */
export function isBrokerUnavailable(error: unknown): error is FactumError {
  return hasCode(error, 'BROKER_UNAVAILABLE');
}

/** True when a broker refused a message for good (unroutable, too large, nacked): publishing it again will not help. */
export function isMessageRefused(error: unknown): error is FactumError {
  return hasCode(error, 'MESSAGE_REFUSED');
}

/**
 * True when a stream read reached versions that an archiver moved out of the live log
 * (`EVENTS_ARCHIVED`): the history it would return is not whole. `details.archivedBefore` is the
 * first version still in the log; read from there, or restore the archive (`restoreArchive`).
 *
 * @example
 * catch (e) { if (isEventsArchived(e)) return store.loadStream(id, { fromVersion: e.details.archivedBefore as number }) }
 */
export function isEventsArchived(error: unknown): error is FactumError {
  return hasCode(error, 'EVENTS_ARCHIVED');
}

/**
 * True when an archive failed its checks (`ARCHIVE_CORRUPTED`: a segment whose bytes or events do
 * not match the manifest, which `details.segment` names).
 *
 * @example
 * catch (e) { if (isArchiveCorrupted(e)) console.error('bad segment', e.details.segment) }
 */
export function isArchiveCorrupted(error: unknown): error is FactumError {
  return hasCode(error, 'ARCHIVE_CORRUPTED');
}
