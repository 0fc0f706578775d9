// A rebuild process killed with SIGKILL in its replay phase, or between its replay and its swap:
// the next rebuild resumes from the copy's checkpoint and swaps in exactly the log's counts
// (real processes, real PostgreSQL).
import { once } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { consumerStorageFor } from '../consumers/consumer-storage.js';
import type { EventStore } from '../core/event-store.js';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { ProjectionRunner } from './projection-runner.js';
import { rebuildProjection } from './rebuild.js';
import { countingProjection, readCounts } from '../../test/runner-suites/counting-projection.js';
import { spawnWorker } from '../../test/runner-suites/processes.js';
import { ev } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`rebuild crash test${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let store: EventStore | undefined;
  afterEach(() => store?.close());

  for (const killAt of ['replaying', 'swapping'] as const) {
    it(`a rebuild killed ${killAt === 'replaying' ? 'after its first batch' : 'between its replay and its swap'} resumes from its checkpoint and swaps in exact counts`, { timeout: 60_000 }, async () => {
      const schema = uniqueSchema();
      createdSchemas.push(schema);
      store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
      const tally = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        await store.append(`k-${i % 7}`, Array.from({ length: 10 }, () => ev('Counted')));
        tally.set(`k-${i % 7}`, (tally.get(`k-${i % 7}`) ?? 0) + 10);
      }
      // The live read model is wrong (every event counted twice), with its checkpoint at the head.
      const fixed = countingProjection('recount');
      const doubled = { ...fixed, handlers: { Counted: async (e: any, ctx: any) => { await fixed.handlers.Counted!(e, ctx); await fixed.handlers.Counted!(e, ctx); } } };
      const runner = await new ProjectionRunner(store, doubled).start();
      await runner.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
      await runner.stop();

      const worker = spawnWorker('rebuild-worker.ts', [POSTGRES_URL, schema, 'recount', killAt]);
      const [, signal] = (await once(worker.child, 'exit')) as [number | null, string | null];
      expect(signal, worker.output()).toBe('SIGKILL');
      const reached = BigInt(/at (\d+)/.exec(worker.output())![1]!);

      // The kill left the copy's checkpoint where the worker had got, and the live model untouched.
      const storage = consumerStorageFor(store);
      expect((await storage.readCheckpoint('recount::rebuild'))?.position).toBe(reached);
      expect(reached > 0n).toBe(true);
      if (killAt === 'swapping') expect(reached).toBe(await store.headPosition());
      else expect(reached < (await store.headPosition())).toBe(true);
      expect(sum(await readCounts(store, fixed))).toBe(600);

      const result = await rebuildProjection(store, fixed, { batchSize: 40 });
      expect(result).toMatchObject({ swapped: true, resumedFrom: reached });
      expect(result.eventsDone).toBe(300 - Number(reached));
      expect(await readCounts(store, fixed)).toEqual(Object.fromEntries([...tally.entries()].sort()));
      expect(sum(await readCounts(store, fixed))).toBe(300);
      expect(await storage.readCheckpoint('recount::rebuild')).toBeUndefined();
      expect(await storage.readCheckpoint('recount')).toEqual({ position: await store.headPosition(), generation: 1 });
    });
  }
});

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);
