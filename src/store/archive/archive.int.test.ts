// Retention with archival on every store: what a policy archives, the manifest and checksums,
// the live log after removal ($all, versions, EVENTS_ARCHIVED), restore in place and into a
// fresh store, resuming after a failure, and corrupted segments refused.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { createdSchemas, dropSchemas } from '../../../test/stores.js';
import { describeOnStores } from '../../../test/describe-on-stores.js';
import { caught } from '../../../test/caught.js';
import { archiveEvents, type ArchiveProgress } from './archive-events.js';
import { readArchiveManifest } from './archive-manifest.js';
import { restoreArchive } from './restore-archive.js';
import { verifyArchive } from './verify-archive.js';
import { archiveStorageOf } from './archive-storage.js';
import { lockArchive } from './lock-archive.js';
import { Subscription } from '../../consumers/subscription.js';
import { eventually } from '../../../test/runner-suites/helpers.js';

const directories: string[] = [];
afterAll(async () => {
  await dropSchemas(createdSchemas);
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function newDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'factum-archive-'));
  directories.push(directory);
  return directory;
}

async function all(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

/** `streams` streams of `perStream` events each, appended round-robin so positions interleave. */
async function fill(store: EventStore, category: string, streams: number, perStream: number): Promise<void> {
  for (let v = 1; v <= perStream; v++) {
    for (let s = 0; s < streams; s++) await store.append(`${category}-${s}`, [{ type: 'Happened', data: { s, v }, metadata: { note: `v${v}` } }]);
  }
}

describeOnStores('archiveEvents and restoreArchive', (on) => {
  it('archives what the policy removes, checksummed, then deletes it; $all and versions go on', async () => {
    const store = await on.open();
    await fill(store, 'order', 4, 10);
    await fill(store, 'cart', 2, 5);
    const before = await all(store.readAll());
    const directory = await newDirectory();
    const progress: ArchiveProgress[] = [];
    const result = await archiveEvents(store, {
      policy: { rules: [{ category: 'order', maxCount: 3 }, { streamId: 'order-0', beforeVersion: 9 }] },
      directory,
      segmentSize: 10,
      onProgress: (p) => progress.push(p),
    });
    // order-0 keeps versions 9 and 10; order-1..3 keep their latest 3; carts are untouched.
    expect(result.events).toBe(8 + 3 * 7);
    expect(result.removed).toBe(29);
    expect(result.resumed).toBe(false);
    const manifest = (await readArchiveManifest(directory))!;
    expect(manifest.status).toBe('complete');
    expect(manifest.streams).toEqual([
      { streamId: 'order-0', fromVersion: 1, toVersion: 8, events: 8 },
      { streamId: 'order-1', fromVersion: 1, toVersion: 7, events: 7 },
      { streamId: 'order-2', fromVersion: 1, toVersion: 7, events: 7 },
      { streamId: 'order-3', fromVersion: 1, toVersion: 7, events: 7 },
    ]);
    expect(manifest.segments.map((s) => s.events)).toEqual([10, 10, 9]);
    for (const segment of manifest.segments) {
      const bytes = await readFile(join(directory, segment.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(segment.sha256);
      const lines = gunzipSync(bytes).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as { id: string; globalPosition: string });
      expect(lines).toHaveLength(segment.events);
      for (const line of lines) expect(before.find((e) => e.id === line.id)!.globalPosition.toString()).toBe(line.globalPosition);
    }
    expect(progress.filter((p) => p.phase === 'writing').map((p) => p.events)).toEqual([10, 20, 29]);
    expect(progress[progress.length - 1]).toMatchObject({ phase: 'removing', events: 29, total: 29 });

    // $all holds exactly the rest, in order.
    const archivedIds = new Set((await verifyArchive(directory)).manifest.segments.flatMap((s) => s.streams).flatMap((r) => before.filter((e) => e.streamId === r.streamId && e.streamVersion >= r.fromVersion && e.streamVersion <= r.toVersion).map((e) => e.id)));
    expect(archivedIds.size).toBe(29);
    expect((await all(store.readAll())).map((e) => e.id)).toEqual(before.filter((e) => !archivedIds.has(e.id)).map((e) => e.id));

    // A stream's version continues; its info says where the log starts.
    const info = await store.streamInfo('order-1');
    expect(info).toMatchObject({ version: 10, exists: true, archivedBefore: 8 });
    const appended = await store.append('order-1', [{ type: 'Happened', data: {} }], { expectedVersion: 10 });
    expect(appended.nextExpectedVersion).toBe(11);
    const next = await store.append('order-1', [{ type: 'Happened', data: {} }]);
    expect(next.nextExpectedVersion).toBe(12);
    expect((await store.streamInfo('cart-0')).archivedBefore).toBeUndefined();
  });

  it('keeps subscriptions working: a running one goes on, a new one reads the rest of $all', async () => {
    const store = await on.open();
    const seen: string[] = [];
    const running = await new Subscription(store, { name: 'before', handler: (event) => void seen.push(event.id), pollIntervalMs: 50 }).start();
    try {
      await fill(store, 'order', 3, 10);
      await running.waitFor(await store.headPosition());
      await archiveEvents(store, { policy: { rules: [{ category: 'order', maxCount: 2 }] }, directory: await newDirectory() });
      await fill(store, 'order', 3, 2);
      await running.waitFor(await store.headPosition());
      expect(seen).toHaveLength(36);
      expect(new Set(seen).size).toBe(36);
    } finally {
      await running.stop();
    }
    const later: RecordedEvent[] = [];
    const after = await new Subscription(store, { name: 'after', handler: (event) => void later.push(event), pollIntervalMs: 50 }).start();
    try {
      await after.waitFor(await store.headPosition());
      expect(later.map((e) => e.id)).toEqual((await all(store.readAll())).map((e) => e.id));
      expect(later).toHaveLength(3 * 4);
    } finally {
      await after.stop();
    }
  });

  it('stops a stream subscription short of archived versions with EVENTS_ARCHIVED, never skipping them', async () => {
    const store = await on.open();
    await fill(store, 'acct', 1, 6);
    await archiveEvents(store, { policy: { rules: [{ streamId: 'acct-0', beforeVersion: 4 }] }, directory: await newDirectory() });
    const errors: unknown[] = [];
    const handled: number[] = [];
    const sub = await new Subscription(store, { name: 'one-stream', stream: 'acct-0', handler: (event) => void handled.push(event.streamVersion), onError: (error) => void errors.push(error), pollIntervalMs: 20 }).start();
    try {
      await eventually(() => errors.length > 0, 20_000, 'the read error');
      expect(handled).toEqual([]);
      expect((errors[0] as { code?: string }).code).toBe('EVENTS_ARCHIVED');
      expect(sub.status().state).not.toBe('stopped');
    } finally {
      await sub.stop();
    }
  });

  it('refuses a stream read over an archived range instead of a shorter history', async () => {
    const store = await on.open();
    await fill(store, 'acct', 1, 6);
    await archiveEvents(store, { policy: { rules: [{ streamId: 'acct-0', beforeVersion: 4 }] }, directory: await newDirectory() });
    const error = await caught(all(store.readStream('acct-0')));
    expect(error.code).toBe('EVENTS_ARCHIVED');
    expect(error.details).toMatchObject({ streamId: 'acct-0', archivedBefore: 4, fromVersion: 1, toVersion: 3 });
    expect(error.message).toContain('acct-0');
    expect((await caught(store.loadStream('acct-0'))).code).toBe('EVENTS_ARCHIVED');
    expect((await caught(store.loadStream('acct-0', { asOf: new Date() }))).code).toBe('EVENTS_ARCHIVED');
    expect((await caught(all(store.readStream('acct-0', { direction: 'backward' })))).code).toBe('EVENTS_ARCHIVED');
    expect((await caught(all(store.readStream('acct-0', { fromVersion: 2, toVersion: 5 })))).code).toBe('EVENTS_ARCHIVED');
    // What is still in the log reads as before.
    expect((await all(store.readStream('acct-0', { fromVersion: 4 }))).map((e) => e.streamVersion)).toEqual([4, 5, 6]);
    expect((await all(store.readStream('acct-0', { direction: 'backward', limit: 2 }))).map((e) => e.streamVersion)).toEqual([6, 5]);
    expect((await store.loadStream('acct-0', { fromVersion: 4 })).events).toHaveLength(3);
    // Metadata that hides the archived versions anyway makes the read whole again.
    await store.setStreamMetadata('acct-0', { truncateBefore: 4 });
    expect((await all(store.readStream('acct-0'))).map((e) => e.streamVersion)).toEqual([4, 5, 6]);
  });

  it('restores in place: the archived events return at their positions, the history is whole again', async () => {
    const store = await on.open();
    await fill(store, 'order', 3, 8);
    const before = await all(store.readAll());
    const first = await newDirectory();
    const second = await newDirectory();
    await archiveEvents(store, { policy: { rules: [{ category: 'order', beforeVersion: 4 }] }, directory: first, segmentSize: 4 });
    await archiveEvents(store, { policy: { rules: [{ category: 'order', beforeVersion: 6 }] }, directory: second, segmentSize: 4 });
    expect((await store.streamInfo('order-0')).archivedBefore).toBe(6);
    // The older archive cannot come back while the newer one is out: it would leave a hole.
    expect((await caught(restoreArchive(store, { directory: first }))).code).toBe('ARCHIVE_CONFLICT');

    const restored = await restoreArchive(store, { directory: second });
    expect(restored).toMatchObject({ events: 6, written: 6 });
    expect((await store.streamInfo('order-0')).archivedBefore).toBe(4);
    await restoreArchive(store, { directory: first });
    expect((await store.streamInfo('order-0')).archivedBefore).toBeUndefined();
    expect(await all(store.readAll())).toEqual(before);
    expect((await store.loadStream('order-2')).events).toEqual(before.filter((e) => e.streamId === 'order-2'));
    // Again: everything is there already, nothing is written twice.
    expect(await restoreArchive(store, { directory: first })).toMatchObject({ events: 9, written: 0 });
    // Appends continue after the head, never at a restored position.
    const next = await store.append('order-0', [{ type: 'Happened', data: {} }]);
    expect(next.lastPosition).toBe(before[before.length - 1]!.globalPosition + 1n);
    // A tombstone is final: archived events do not come back into a hard-deleted stream.
    const third = await newDirectory();
    await archiveEvents(store, { policy: { rules: [{ streamId: 'order-1', beforeVersion: 3 }] }, directory: third });
    await store.tombstoneStream('order-1');
    const refused = await caught(restoreArchive(store, { directory: third }));
    expect([refused.code, refused.details.streamId]).toEqual(['ARCHIVE_CONFLICT', 'order-1']);
    expect((await all(store.readAll())).filter((e) => e.streamId === 'order-1')).toEqual([]);
  });

  it('copies archive and live log into a fresh store: every event as it was', async () => {
    const store = await on.open();
    await fill(store, 'order', 3, 6);
    await store.setStreamMetadata('order-1', { custom: { owner: 'x' } });
    await store.append('gone-1', [{ type: 'Happened', data: {} }, { type: 'Happened', data: {} }]);
    await store.deleteStream('gone-1');
    const before = await all(store.readAll());
    const directory = await newDirectory();
    await archiveEvents(store, { policy: { rules: [{ category: 'order', maxCount: 2 }] }, directory });
    const fresh = await on.open();
    const result = await restoreArchive(fresh, { directory, mode: 'copy', live: store });
    expect(result).toMatchObject({ events: 12, written: 12, liveEvents: before.length - 12 });
    expect(await all(fresh.readAll())).toEqual(before);
    expect(await fresh.headPosition()).toBe(await store.headPosition());
    expect((await fresh.streamInfo('order-1')).metadata).toEqual({ custom: { owner: 'x' } });
    expect(await fresh.streamInfo('gone-1')).toMatchObject({ version: 2, softDeleted: true, exists: false });
    expect((await fresh.loadStream('order-0')).events).toEqual(before.filter((e) => e.streamId === 'order-0'));
    expect((await fresh.append('order-0', [{ type: 'Happened', data: {} }])).nextExpectedVersion).toBe(7);
  });

  it('resumes an archive that failed half-way: nothing lost, nothing archived twice', async () => {
    const store = await on.open();
    await fill(store, 'order', 5, 6);
    const before = await all(store.readAll());
    const directory = await newDirectory();
    const policy = { rules: [{ category: 'order', maxCount: 1 }] };
    // Fails after the second segment, as a crash would stop it.
    const failed = await caught(
      archiveEvents(store, { policy, directory, segmentSize: 7, onProgress: (p) => { if (p.segments === 2) throw new Error('power cut'); } }),
    );
    expect(failed.message).toBe('power cut');
    expect((await readArchiveManifest(directory))!).toMatchObject({ status: 'writing', events: 25 });
    expect(await all(store.readAll())).toEqual(before);

    const resumed = await archiveEvents(store, { policy: { rules: [{ category: 'order', maxCount: 5 }] }, directory, segmentSize: 7 });
    expect(resumed).toMatchObject({ resumed: true, events: 25, removed: 25 });
    expect(resumed.manifest.segments.map((s) => s.events)).toEqual([7, 7, 7, 4]);
    const { events } = await verifyArchive(directory);
    expect(events).toBe(25);
    expect((await all(store.readAll())).map((e) => e.streamVersion)).toEqual([6, 6, 6, 6, 6]);
    // A complete archive run again does nothing.
    expect(await archiveEvents(store, { policy, directory })).toMatchObject({ resumed: true, removed: 0 });

    const fresh = await on.open();
    await restoreArchive(fresh, { directory, mode: 'copy', live: store });
    expect(await all(fresh.readAll())).toEqual(before);
  });

  it('refuses a corrupted segment on restore, naming it, before writing anything', async () => {
    const store = await on.open();
    await fill(store, 'order', 2, 10);
    const directory = await newDirectory();
    const { manifest } = await archiveEvents(store, { policy: { rules: [{ category: 'order', maxCount: 1 }] }, directory, segmentSize: 6 });
    const victim = manifest.segments[1]!;
    const path = join(directory, victim.file);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(path, bytes);

    const error = await caught(restoreArchive(store, { directory }));
    expect(error.code).toBe('ARCHIVE_CORRUPTED');
    expect(error.details.segment).toBe(victim.file);
    expect(error.message).toContain(victim.file);
    expect((await caught(verifyArchive(directory))).details.segment).toBe(victim.file);
    const fresh = await on.open();
    expect((await caught(restoreArchive(fresh, { directory, mode: 'copy' }))).details.segment).toBe(victim.file);
    expect(await fresh.headPosition()).toBe(0n);
    expect((await store.streamInfo('order-0')).archivedBefore).toBe(10);
  });

  it('lets one archiver or restore work on a directory at a time', async () => {
    const store = await on.open();
    await fill(store, 'order', 2, 3);
    const directory = await newDirectory();
    const release = await lockArchive(directory);
    try {
      const refused = await caught(archiveEvents(store, { policy: { rules: [{ category: 'order', maxCount: 1 }] }, directory }));
      expect(refused.code).toBe('ARCHIVE_CONFLICT');
      expect(await readArchiveManifest(directory)).toBeUndefined();
    } finally {
      await release();
    }
    expect((await archiveEvents(store, { policy: { rules: [{ category: 'order', maxCount: 1 }] }, directory })).removed).toBe(4);
    const again = await lockArchive(directory);
    try {
      expect((await caught(restoreArchive(store, { directory }))).code).toBe('ARCHIVE_CONFLICT');
    } finally {
      await again();
    }
  });

  on.itIf(on.capabilities.sql, 'the memory store keeps its runners\' checkpoints in the process, not beside the log')(
    'archives nothing past the checkpoint furthest behind unless told: a runner that has not read an event yet still gets it',
    async () => {
      const store = await on.open();
      const seen: RecordedEvent[] = [];
      const slow = new Subscription(store, { name: 'slow', handler: (event) => void seen.push(event), pollIntervalMs: 50 });
      await slow.start();
      await fill(store, 'log', 2, 3);
      await slow.waitFor(6n);
      await slow.stop();
      // Positions 7..12 come while it is stopped: its checkpoint stays at 6.
      await fill(store, 'log', 2, 3);
      const result = await archiveEvents(store, { policy: { rules: [{ category: 'log', maxCount: 1 }] }, directory: await newDirectory() });
      expect(result.limitedBy).toEqual({ checkpoint: 'slow', position: 6n });
      expect(result.manifest.streams).toEqual([
        { streamId: 'log-0', fromVersion: 1, toVersion: 3, events: 3 },
        { streamId: 'log-1', fromVersion: 1, toVersion: 3, events: 3 },
      ]);
      const restarted = new Subscription(store, { name: 'slow', handler: (event) => void seen.push(event), pollIntervalMs: 50 });
      await restarted.start();
      try {
        await restarted.waitFor(12n);
      } finally {
        await restarted.stop();
      }
      expect(seen.map((e) => e.globalPosition)).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(i + 1)));
      // Told, it archives past every runner: what the policy leaves is each stream's last event.
      const told = await archiveEvents(store, { policy: { rules: [{ category: 'log', maxCount: 1 }] }, directory: await newDirectory(), maxPosition: await store.headPosition() });
      expect(told.limitedBy).toBeUndefined();
      expect(told.manifest.streams.map((r) => [r.streamId, r.fromVersion, r.toVersion])).toEqual([
        ['log-0', 4, 5],
        ['log-1', 4, 5],
      ]);
    },
  );

  it('archives by age, and never past maxPosition', async () => {
    const store = await on.open();
    await fill(store, 'log', 2, 3);
    const storage = archiveStorageOf(store);
    const cut = new Date(Date.now() + 60_000);
    // Everything is older than a minute from now: all but each stream's last event goes.
    const directory = await newDirectory();
    const result = await archiveEvents(store, { policy: { rules: [{ category: 'log', maxAgeSeconds: 30 }] }, directory, now: cut, maxPosition: 3n });
    // Positions 1..6 alternate log-0, log-1: at or below 3 are log-0 v1, v2 and log-1 v1.
    expect(result.manifest.streams).toEqual([
      { streamId: 'log-0', fromVersion: 1, toVersion: 2, events: 2 },
      { streamId: 'log-1', fromVersion: 1, toVersion: 1, events: 1 },
    ]);
    // Nothing in the live log is older than the epoch: no version past the archived ones qualifies.
    expect(await storage.lastVersionWithin('log-1', { recordedBefore: new Date(0) })).toBe(1);
    expect(await storage.lastVersionWithin('log-1', { recordedBefore: cut })).toBe(3);
  });
});
