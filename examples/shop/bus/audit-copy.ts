/**
 * The union of the services' logs, for the self-check and the printout: each service's store
 * holds only its own streams, so the parent copies every event (ids, metadata and versions as
 * they are) into one scratch store in memory and builds the read models there. Nothing writes to
 * the services' stores; the copy is thrown away after the run.
 */
import { PGlite } from '@electric-sql/pglite';
import { importEvents, openEventStore, rebuildProjection, type EventStore, type RecordedEvent } from '../../../src/index.js';
import { ASYNC_PROJECTIONS, INLINE_PROJECTIONS } from '../shop.js';

/**
 * One log from several: by time of recording (the services share this machine's clock), each
 * store's own order kept for ties, and no event before the event that caused it.
 */
export function mergeLogs(logs: RecordedEvent[][]): RecordedEvent[] {
  let left = logs.flat().sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime());
  const ids = new Set(left.map((e) => e.id));
  const out: RecordedEvent[] = [];
  const emitted = new Set<string>();
  const versions = new Map<string, number>();
  // A pass emits every event whose cause and whose stream's previous event are out; one that
  // shares its millisecond with its cause waits for the next pass. Few passes: such ties are rare.
  while (left.length > 0) {
    const later: RecordedEvent[] = [];
    for (const event of left) {
      const cause = event.metadata.causationId;
      const ready = (!cause || !ids.has(cause) || emitted.has(cause)) && (versions.get(event.streamId) ?? 0) === event.streamVersion - 1;
      if (!ready) {
        later.push(event);
        continue;
      }
      out.push(event);
      emitted.add(event.id);
      versions.set(event.streamId, event.streamVersion);
    }
    if (later.length === left.length) throw new Error(`The logs cannot be merged: ${later.length} events wait for causes or versions that never come`);
    left = later;
  }
  return out;
}

export async function readLog(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

/** An embedded store in memory holding the union of the logs, with every read model built from it. */
export async function auditCopy(stores: EventStore[]): Promise<{ store: EventStore; close(): Promise<void> }> {
  const merged = mergeLogs(await Promise.all(stores.map(readLog)));
  // The read models are SQL tables: the copy is PGlite, kept in memory.
  const pglite = new PGlite();
  const copy = await openEventStore(pglite);
  const close = async () => {
    await copy.close();
    await pglite.close();
  };
  try {
    await importEvents(
      copy,
      merged.map((e) => ({ streamId: e.streamId, id: e.id, type: e.type, data: e.data, metadata: e.metadata, schemaVersion: e.schemaVersion })),
    );
    for (const projection of ASYNC_PROJECTIONS) await rebuildProjection(copy, projection);
    for (const projection of INLINE_PROJECTIONS) await rebuildProjection(copy, projection, { inline: true });
    return { store: copy, close };
  } catch (error) {
    await close();
    throw error;
  }
}
