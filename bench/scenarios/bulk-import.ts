import { benchEvents } from '../bench-event.js';
import type { BenchRow } from '../bench-row.js';
import { interleaved, peakMemory, timeOnce } from '../measure.js';
import type { BenchSystem, ImportBatch } from '../systems/bench-system.js';
import { cannotRows, guarded, rowsFromSamples, type ScenarioContext } from './scenario.js';

/** The import, generated lazily one stream slice at a time: never the whole import in memory. */
async function* importSource(tag: string, total: number, streamSize: number): AsyncGenerator<ImportBatch> {
  for (let done = 0, n = 0; done < total; done += streamSize, n++) {
    const streamId = `import-${tag}-${n}`;
    yield { streamId, firstVersion: 1, events: benchEvents(streamId, 1, Math.min(streamSize, total - done)) };
  }
}

/** Scenario 6: import `importEvents` events of many streams by each system's fastest path. */
export async function bulkImport(ctx: ScenarioContext, scenario: string): Promise<BenchRow[]> {
  const { config } = ctx;
  const systems = ctx.systems.filter((s) => !s.cannot.bulkImport && s.bulkImport);
  const failures = new Map<BenchSystem, string>();
  const paths = new Map<BenchSystem, string>();
  const memory = new Map<BenchSystem, number>();
  let runs = 0;
  const samples = await interleaved(
    systems,
    config.importRounds,
    guarded(failures, 0, async (system, _round, warmUp) => {
      await system.reset();
      // The warm-up imports a tenth: enough to open connections and compile, not to fill the disk.
      const total = warmUp ? Math.max(config.importStreamSize, config.importEvents / 10) : config.importEvents;
      const before = process.memoryUsage().rss;
      const peak = peakMemory();
      const { seconds, result: path } = await timeOnce(() => system.bulkImport!(importSource(`${runs++}`, total, config.importStreamSize)));
      const peakMiB = peak.stop();
      await system.reset();
      paths.set(system, path);
      if (!warmUp) {
        memory.set(system, Math.max(memory.get(system) ?? 0, peakMiB - Math.round(before / 2 ** 20)));
        ctx.log(`  ${system.label}: ${Math.round(total / seconds)} events/s (${path})`);
      }
      return total / seconds;
    }),
  );
  const rows = rowsFromSamples(scenario, 'events/s', samples, failures, (s) => ({
    path: paths.get(s) ?? '',
    'RSS growth': `${memory.get(s) ?? 0} MiB`,
  }));
  return [...rows, ...cannotRows(scenario, 'events/s', ctx.systems, 'bulkImport')];
}
