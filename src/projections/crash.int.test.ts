// A projection worker killed with SIGKILL at random moments, ten times, while 10,000 events are
// appended: the final read model equals a rebuild from scratch (real processes, real PostgreSQL).
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { ProjectionRunner } from './projection-runner.js';
import { rebuildProjection } from './rebuild.js';
import { countingProjection, readCounts } from '../../test/runner-suites/projection-suite.js';
import { kill, spawnWorker, type Worker } from '../../test/runner-suites/processes.js';
import { ev, sleep } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(skip))(`projection crash test${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('survives ten SIGKILLs during 10,000 appends: the read model equals a rebuild from scratch', { timeout: 180_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const projection = countingProjection('crash-counts');
    try {
      // Appends: 1,000 appends of 10 events over 50 streams, paced to span the ten kills.
      let appended = 0;
      let killsDone = false;
      const kills: number[] = [];
      let abandon = false;
      const appending = (async () => {
        for (let i = 0; i < 1000 && !abandon; i++) {
          // 900 events per kill window: every kill lands while appends are still to come.
          while (!killsDone && kills.length < Math.floor(i / 90)) await sleep(5);
          await store.append(`crash-${i % 50}`, Array.from({ length: 10 }, () => ev('Counted', { i })));
          appended += 10;
          if (!killsDone) await sleep(3);
        }
      })();

      let worker: Worker | undefined;
      try {
        for (let k = 0; k < 10; k++) {
          worker = spawnWorker('projection-worker.ts', [POSTGRES_URL, schema]);
          await worker.ready;
          await sleep(100 + Math.floor(Math.random() * 900));
          await kill(worker);
          kills.push(appended);
        }
      } finally {
        killsDone = true;
        if (worker) await kill(worker);
        abandon = kills.length < 10;
        await appending;
      }
      expect(appended).toBe(10_000);
      // Every kill landed while appends were still going on.
      expect(kills).toHaveLength(10);
      expect(kills.every((n) => n < 10_000)).toBe(true);

      // A last worker (in process now) finishes the job.
      const runner = await new ProjectionRunner(store, projection, { batchSize: 200 }).start();
      await runner.waitFor(await store.headPosition(), { timeoutMs: 120_000 });
      await runner.stop();
      const live = await readCounts(store, projection);
      expect(Object.values(live).reduce((a, b) => a + b, 0)).toBe(10_000);

      const rebuilt = await rebuildProjection(store, projection, { batchSize: 2000 });
      expect(rebuilt.swapped).toBe(true);
      expect(await readCounts(store, projection)).toEqual(live);
    } finally {
      await store.close();
    }
  });
});
