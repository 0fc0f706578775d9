// The archival round trip at size, on PGlite and PostgreSQL: 100,000 events of a 200,000-event
// log archived, checked against the manifest and checksums, deleted, and restored into a fresh
// store, where every event must be the original (id, stream, version, position, type, data,
// metadata, time to the microsecond).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { uuidv7 } from '../../core/uuid.js';
import { describeOnStores } from '../../../test/describe-on-stores.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';
import { importEvents, type ImportEvent } from '../import/import-events.js';
import { sqlAccess } from '../sql-access.js';
import { archiveEvents } from './archive-events.js';
import type { ArchivedEvent } from './archive-storage.js';
import { restoreArchive } from './restore-archive.js';

const directories: string[] = [];
afterAll(async () => {
  await dropSchemas(createdSchemas);
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

const STREAMS = 2000;
const PER_STREAM = 100;

function* generate(): Generator<ImportEvent> {
  for (let v = 1; v <= PER_STREAM; v++) {
    for (let s = 0; s < STREAMS; s++) yield { id: uuidv7(), streamId: `ledger-${s}`, type: v % 2 ? 'Credited' : 'Debited', data: { s, v, amount: (s * 7 + v) % 1000 }, metadata: { correlationId: `c-${s}` } };
  }
}

async function all(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of store.readAll({ pageSize: 5000 })) out.push(event);
  return out;
}

/** One digest of every column of every row of the log, times as the database has them. */
async function logDigest(store: EventStore): Promise<string> {
  const { client, names } = sqlAccess(store)!;
  const { rows } = await client.query<{ d: string }>(
    `SELECT md5(string_agg(concat_ws('|', global_position, event_id, stream_id, stream_version, event_type, data::text, metadata::text, schema_version,
       to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')), E'\\n' ORDER BY global_position)) AS d FROM ${names.s}events`,
  );
  return rows[0]!.d;
}

describeOnStores('archive 100,000 of 200,000 events and restore them', (on) => {
  it('archives, checks, deletes, and restores a full copy equal to the original', async () => {
    const store = await on.open();
    await importEvents(store, generate(), { batchSize: 20_000 });
    const original = await all(store);
    expect(original).toHaveLength(STREAMS * PER_STREAM);
    const digest = await logDigest(store);

    const directory = await mkdtemp(join(tmpdir(), 'factum-archive-200k-'));
    directories.push(directory);
    const { manifest, removed } = await archiveEvents(store, { policy: { rules: [{ category: 'ledger', maxCount: 50 }] }, directory });
    expect(removed).toBe(100_000);
    expect(manifest).toMatchObject({ status: 'complete', events: 100_000 });
    expect(manifest.streams).toHaveLength(STREAMS);
    expect(manifest.streams.every((r) => r.fromVersion === 1 && r.toVersion === 50 && r.events === 50)).toBe(true);
    expect(manifest.segments).toHaveLength(10);

    // Every segment: its checksum and size, and lines that are the original events, as listed.
    const byId = new Map(original.map((e) => [e.id, e]));
    let lines = 0;
    let low = BigInt(Number.MAX_SAFE_INTEGER);
    let high = 0n;
    for (const segment of manifest.segments) {
      const bytes = await readFile(join(directory, segment.file));
      expect(bytes.length).toBe(segment.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(segment.sha256);
      const events = gunzipSync(bytes).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as ArchivedEvent);
      expect(events).toHaveLength(segment.events);
      expect(segment.streams.reduce((sum, r) => sum + r.toVersion - r.fromVersion + 1, 0)).toBe(segment.events);
      for (const event of events) {
        const was = byId.get(event.id)!;
        expect([event.streamId, event.streamVersion, event.globalPosition, event.type]).toEqual([was.streamId, was.streamVersion, was.globalPosition.toString(), was.type]);
        expect(was.streamVersion).toBeLessThanOrEqual(50);
        const position = BigInt(event.globalPosition);
        if (position < low) low = position;
        if (position > high) high = position;
      }
      lines += events.length;
    }
    expect(lines).toBe(100_000);
    expect([manifest.firstPosition, manifest.lastPosition]).toEqual([low.toString(), high.toString()]);

    // Deleted from the live log: $all holds the other half, every stream's last 50.
    const live = await all(store);
    expect(live).toHaveLength(100_000);
    expect(live.every((e) => e.streamVersion > 50)).toBe(true);
    expect(await store.streamInfo('ledger-7')).toMatchObject({ version: 100, archivedBefore: 51 });

    const fresh = await on.open();
    const result = await restoreArchive(fresh, { directory, mode: 'copy', live: store });
    expect(result).toMatchObject({ events: 100_000, written: 100_000, liveEvents: 100_000 });
    const copy = await all(fresh);
    expect(copy).toHaveLength(original.length);
    const differing: number[] = [];
    for (let i = 0; i < original.length; i++) {
      const a = original[i]!;
      const b = copy[i]!;
      const same =
        a.id === b.id && a.streamId === b.streamId && a.streamVersion === b.streamVersion && a.globalPosition === b.globalPosition && a.type === b.type &&
        a.schemaVersion === b.schemaVersion && a.recordedAt.getTime() === b.recordedAt.getTime() &&
        JSON.stringify(a.data) === JSON.stringify(b.data) && JSON.stringify(a.metadata) === JSON.stringify(b.metadata);
      if (!same) differing.push(i);
    }
    expect(differing.slice(0, 10)).toEqual([]);
    // Microseconds too, which the Dates above cannot show.
    expect(await logDigest(fresh)).toBe(digest);
    expect((await fresh.loadStream('ledger-7')).events).toHaveLength(100);
  }, 600_000);
}, { stores: (f) => f.name !== 'memory' });
