import { benchEvents, newStreamId } from '../bench-event.js';
import { median, type BenchRow } from '../bench-row.js';
import { interleaved, percentile, runFor } from '../measure.js';
import type { BenchSystem } from '../systems/bench-system.js';
import { cannotRows, guarded, rowsFromSamples, type ScenarioContext } from './scenario.js';

/**
 * Scenario 4: one reader loads whole streams of `streamLength` events, one after the other,
 * in turn over `loadStreams` such streams (what rebuilding an aggregate costs).
 */
export async function loadStream(ctx: ScenarioContext, scenario: string): Promise<BenchRow[]> {
  const { config } = ctx;
  const systems = ctx.systems.filter((s) => !s.cannot.loadStream);
  const streams = new Map<BenchSystem, string[]>();
  for (const system of systems) {
    await system.reset();
    const ids: string[] = [];
    for (let i = 0; i < config.loadStreams; i++) {
      const id = newStreamId('load');
      await system.appendNew(id, benchEvents(id, 1, config.streamLength));
      ids.push(id);
    }
    streams.set(system, ids);
  }
  const failures = new Map<BenchSystem, string>();
  const latencies = new Map<BenchSystem, number[]>(systems.map((s) => [s, []]));
  const samples = await interleaved(
    systems,
    config.rounds,
    guarded(failures, 0, async (system, _round, warmUp) => {
      const ids = streams.get(system)!;
      let next = 0;
      const run = await runFor(
        1,
        warmUp ? config.warmUpMs : config.roundMs,
        async () => {
          const count = await system.loadStream(ids[next++ % ids.length]!);
          if (count !== config.streamLength) throw new Error(`loaded ${count} events instead of ${config.streamLength}`);
          return count;
        },
        { latencies: true },
      );
      if (!warmUp) {
        latencies.get(system)!.push(percentile(run.latenciesMs!, 50));
        ctx.log(`  ${system.label}: ${Math.round(run.events / run.seconds)} events/s`);
      }
      return run.events / run.seconds;
    }),
  );
  return [
    ...rowsFromSamples(scenario, 'events/s', samples, failures, (s) => {
      const p50 = latencies.get(s)!;
      return p50.length ? { 'p50 latency': `${median(p50).toFixed(2)} ms` } : undefined;
    }),
    ...cannotRows(scenario, 'events/s', ctx.systems, 'loadStream'),
  ];
}
