import { benchEvents, newStreamId } from '../bench-event.js';
import type { BenchRow } from '../bench-row.js';
import { interleaved, runFor } from '../measure.js';
import type { BenchSystem } from '../systems/bench-system.js';
import { cannotRows, guarded, rowsFromSamples, type ScenarioContext } from './scenario.js';

/**
 * Scenarios 1 and 2: `writers` concurrent writers, each appending `perAppend` events at a time
 * to a stream that does not exist yet (with each system's own "must be new" check).
 */
export async function appendNewStreams(ctx: ScenarioContext, scenario: string, perAppend: number, writers: number): Promise<BenchRow[]> {
  const { config } = ctx;
  const systems = ctx.systems.filter((s) => !s.cannot.append);
  for (const system of systems) await system.reset();
  const failures = new Map<BenchSystem, string>();
  const samples = await interleaved(
    systems,
    config.rounds,
    guarded(failures, 0, async (system, _round, warmUp) => {
      const tag = `${perAppend}x${writers}`;
      const run = await runFor(writers, warmUp ? config.warmUpMs : config.roundMs, async () => {
        const stream = newStreamId(tag);
        await system.appendNew(stream, benchEvents(stream, 1, perAppend));
        return perAppend;
      });
      if (!warmUp) ctx.log(`  ${system.label}: ${Math.round(run.events / run.seconds)} events/s`);
      return run.events / run.seconds;
    }),
  );
  return [...rowsFromSamples(scenario, 'events/s', samples, failures), ...cannotRows(scenario, 'events/s', ctx.systems, 'append')];
}
