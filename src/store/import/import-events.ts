import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';
import type { NewEvent } from '../../core/message.js';
import { DEFAULT_LIMITS, prepareEvent, validateStreamId, validatePositiveInt, type StoreLimits } from '../../core/validation.js';
import { bulkImportOf, type PreparedImport } from '../bulk-import.js';

/** One event to import: a new event and the stream it goes to (appended at the stream's end). */
export interface ImportEvent extends NewEvent {
  streamId: string;
}

/** Progress of a running import, reported after every batch. */
export interface ImportProgress {
  events: number;
  elapsedMs: number;
  eventsPerSecond: number;
}

/** Options of `importEvents`. */
export interface ImportOptions {
  /** Events per transaction; 10,000 by default. */
  batchSize?: number;
  onProgress?: (progress: ImportProgress) => void;
  limits?: Partial<StoreLimits>;
}

/** What an import did. */
export interface ImportResult {
  events: number;
  /** Global position of the last imported event (0n if none). */
  lastPosition: bigint;
}

/**
 * Bulk import: events from any (async) iterable, appended at the end of their streams in the
 * order given, in batches that are each atomic (on factum's stores). The fastest way in: on SQL stores each batch is
 * one multi-row insert that reserves its positions while the log is locked against other writers (appends wait for the
 * batch, and readers of `$all` never pass it half-written); elsewhere it falls back to appends.
 * The input is streamed, so a million events never sit in memory. If a batch fails, the error
 * says how many events were imported before it (`details.imported`), so the caller can resume.
 *
 * @example
 * const result = await importEvents(store, readLegacyRows(), {
 *   onProgress: (p) => console.log(`${p.events} events, ${Math.round(p.eventsPerSecond)}/s`),
 * })
 */
export async function importEvents(
  store: EventStore,
  events: Iterable<ImportEvent> | AsyncIterable<ImportEvent>,
  options: ImportOptions = {},
): Promise<ImportResult> {
  validatePositiveInt('batchSize', options.batchSize);
  const batchSize = options.batchSize ?? 10_000;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const started = Date.now();
  let imported = 0;
  let lastPosition = 0n;
  let batch: PreparedImport = { streamIds: [], events: [] };
  // factum's stores import a batch their own way (one statement on SQL); any other store by appends.
  const importBatch = bulkImportOf(store) ?? ((prepared: PreparedImport) => importBatchByAppends(store, prepared));

  const flush = async () => {
    if (batch.events.length === 0) return;
    try {
      lastPosition = await importBatch(batch);
    } catch (error) {
      const cause = error instanceof FactumError ? error : undefined;
      throw new FactumError(cause?.code ?? 'STORAGE_ERROR', `Import stopped after ${imported} events: ${(error as Error).message}`, {
        cause: error,
        details: { ...cause?.details, imported, lastPosition: lastPosition.toString() },
      });
    }
    imported += batch.events.length;
    batch = { streamIds: [], events: [] };
    const elapsedMs = Date.now() - started;
    options.onProgress?.({ events: imported, elapsedMs, eventsPerSecond: elapsedMs > 0 ? (imported * 1000) / elapsedMs : imported });
  };

  for await (const event of events) {
    const streamId = (event as Partial<ImportEvent>)?.streamId;
    validateStreamId(streamId);
    batch.streamIds.push(streamId);
    batch.events.push(prepareEvent(event, imported + batch.events.length, limits));
    if (batch.events.length >= batchSize) await flush();
  }
  await flush();
  return { events: imported, lastPosition };
}

/**
 * For other EventStore implementations: consecutive events of one stream become one append, so
 * the order is kept, but a batch is atomic only per stream run.
 */
async function importBatchByAppends(store: EventStore, batch: PreparedImport): Promise<bigint> {
  let last = 0n;
  for (let start = 0; start < batch.events.length; ) {
    let end = start + 1;
    while (end < batch.events.length && batch.streamIds[end] === batch.streamIds[start]) end++;
    const events = batch.events.slice(start, end).map(({ id, type, data, metadata, schemaVersion }) => ({ id, type, data, metadata, schemaVersion }));
    last = (await store.append(batch.streamIds[start]!, events)).lastPosition;
    start = end;
  }
  return last;
}
