// The archiver SIGKILLed (a real child process, real PostgreSQL) while writing segments, while
// deleting from the log, and at a moment of its own choosing: after each kill no event is lost
// (every original event is in the live log or in a listed, checksummed segment), no stream is
// half-deleted (its live versions run unbroken from its archivedBefore marker), and running the
// archiver again completes the archive, which restores to a copy equal to the original.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { uuidv7 } from '../../core/uuid.js';
import { openPostgresEventStore } from '../postgres/postgres-event-store.js';
import { openPGliteEventStore } from '../pglite/pglite-event-store.js';
import { importEvents, type ImportEvent } from '../import/import-events.js';
import { kill, spawnWorker } from '../../../test/runner-suites/processes.js';
import { eventually, sleep } from '../../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, openTestPostgres, uniqueSchema } from '../../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { archiveEvents } from './archive-events.js';
import { readArchiveManifest } from './archive-manifest.js';
import { readSegment } from './read-segment.js';
import { restoreArchive } from './restore-archive.js';

const skip = await postgresUnavailable();
const directories: string[] = [];
afterAll(async () => {
  await dropSchemas(createdSchemas);
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

const STREAMS = 300;
const PER_STREAM = 40;
const POLICY = { rules: [{ category: 'ledger', maxCount: 10 }] };

function* generate(): Generator<ImportEvent> {
  for (let v = 1; v <= PER_STREAM; v++) for (let s = 0; s < STREAMS; s++) yield { id: uuidv7(), streamId: `ledger-${s}`, type: 'Posted', data: { s, v } };
}

async function all(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of store.readAll({ pageSize: 5000 })) out.push(event);
  return out;
}

/** Nothing lost, nothing half-deleted; returns how many events are out of the live log. */
async function checkWhole(store: EventStore, directory: string, original: RecordedEvent[]): Promise<number> {
  const manifest = await readArchiveManifest(directory);
  const archived = new Map<string, string>();
  for (const segment of manifest?.segments ?? []) for (const e of await readSegment(directory, segment)) archived.set(e.id, e.globalPosition);
  const live = new Map((await all(store)).map((e) => [e.id, e]));
  const lost = original.filter((e) => !live.has(e.id) && archived.get(e.id) !== e.globalPosition.toString());
  expect(lost.map((e) => `${e.streamId}@${e.streamVersion}`)).toEqual([]);
  for (let s = 0; s < STREAMS; s++) {
    const info = await store.streamInfo(`ledger-${s}`);
    const from = info.archivedBefore ?? 1;
    const versions = [...live.values()].filter((e) => e.streamId === info.streamId).map((e) => e.streamVersion);
    expect(versions, info.streamId).toEqual(Array.from({ length: PER_STREAM - from + 1 }, (_, i) => from + i));
  }
  return original.length - live.size;
}

describe.skipIf(Boolean(skip))(`archiver crashes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const kills: Array<[string, string | undefined, string]> = [
    ['while writing segments (after the 4th)', 'writing:4', 'paused'],
    ['while deleting from the log (after the 3rd batch)', 'removing:3', 'paused'],
    ['at a moment of its own, early in the writing', undefined, 'progress writing 2000'],
    ['at a moment of its own, early in the deleting', undefined, 'progress removing'],
  ];
  for (const [when, pause, signal] of kills) {
    /** A fresh log of its own, archived by a worker SIGKILLed at the case's moment; what the worker printed. */
    async function crashOnce(): Promise<{ store: Awaited<ReturnType<typeof openPostgresEventStore>>; directory: string; original: RecordedEvent[]; output: string }> {
      const schema = uniqueSchema();
      createdSchemas.push(schema);
      const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
      const directory = await mkdtemp(join(tmpdir(), 'factum-archive-crash-'));
      directories.push(directory);
      await importEvents(store, generate(), { batchSize: 6000 });
      const original = await all(store);
      const worker = spawnWorker('archive-worker.ts', ['postgres', POSTGRES_URL, schema, directory, ...(pause ? [pause] : [])]);
      try {
        await worker.ready;
        await eventually(() => worker.output().includes(signal), 60_000, signal);
        if (!pause) await sleep(Math.floor(Math.random() * 30));
      } finally {
        await kill(worker);
      }
      return { store, directory, original, output: worker.output() };
    }

    it(`SIGKILL ${when}: nothing lost or half-deleted, and a second run completes`, { timeout: 180_000 }, async () => {
      let run = await crashOnce();
      // A moment of its own can come after the archiver finished (deleting 9,000 events takes a few
      // milliseconds on a quiet machine): that run crashed nothing, so it goes again on a fresh log.
      for (let tries = 1; !pause && run.output.includes('done') && tries < 5; tries++) {
        await run.store.close();
        run = await crashOnce();
      }
      const { store, directory, original } = run;
      try {
        expect(run.output).not.toContain('done');
        const manifest = (await readArchiveManifest(directory))!;
        const out = await checkWhole(store, directory, original);
        if (pause === 'writing:4') expect([manifest.status, manifest.segments.length, out]).toEqual(['writing', 4, 0]);
        if (pause === 'removing:3') {
          expect(manifest.status).toBe('written');
          expect(out).toBeGreaterThanOrEqual(3000);
          expect(out).toBeLessThan(9000);
        }

        const second = await archiveEvents(store, { policy: POLICY, directory, segmentSize: 1000, removeBatch: 1000 });
        expect(second).toMatchObject({ resumed: true, events: 9000 });
        expect(second.manifest.status).toBe('complete');
        expect(second.manifest.segments.reduce((sum, s) => sum + s.events, 0)).toBe(9000);
        expect(await checkWhole(store, directory, original)).toBe(9000);

        const fresh = await openTestPostgres();
        try {
          await restoreArchive(fresh, { directory, mode: 'copy', live: store });
          expect(await all(fresh)).toEqual(original);
        } finally {
          await fresh.close();
        }
      } finally {
        await store.close();
      }
    });
  }
});

// The embedded store too: its directory, held by the killed process, is opened again afterwards.
describe('archiver crashes on PGlite', () => {
  it('SIGKILL while deleting from a PGlite directory: nothing lost or half-deleted, and a second run completes', { timeout: 240_000 }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'factum-archive-crash-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'factum-archive-pglite-'));
    directories.push(directory, dataDir);
    let store = await openPGliteEventStore({ dataDir });
    await importEvents(store, generate(), { batchSize: 6000 });
    const original = await all(store);
    await store.close();

    const worker = spawnWorker('archive-worker.ts', ['pglite', dataDir, '-', directory, 'removing:3']);
    try {
      await worker.ready;
      await eventually(() => worker.output().includes('paused'), 120_000, 'paused');
    } finally {
      await kill(worker);
    }
    store = await openPGliteEventStore({ dataDir });
    try {
      expect((await readArchiveManifest(directory))!.status).toBe('written');
      expect(await checkWhole(store, directory, original)).toBeGreaterThanOrEqual(3000);
      const second = await archiveEvents(store, { policy: POLICY, directory, segmentSize: 1000, removeBatch: 1000 });
      expect(second).toMatchObject({ resumed: true, events: 9000 });
      expect(await checkWhole(store, directory, original)).toBe(9000);
      const fresh = await openPGliteEventStore({ dataDir: 'memory://' });
      try {
        await restoreArchive(fresh, { directory, mode: 'copy', live: store });
        expect(await all(fresh)).toEqual(original);
      } finally {
        await fresh.close();
      }
    } finally {
      await store.close();
    }
  });
});
